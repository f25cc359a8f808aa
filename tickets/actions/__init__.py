"""The one door for every change to tickets, routes and the timeline."""
