"""The ticket page: where an agent works one ticket beside the customer's timeline.

GET renders the page (a constant number of queries however long the history). Each
POST parses its input, checks the ticket is the agent's to see (ticket_for_agent),
calls one action and answers with the partials it changed; htmx swaps them in, a
plain form post is redirected back to the page.
"""
