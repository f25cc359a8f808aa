"""Sign-in, the agent's account page, and the supervisors' locked sign-ins."""

from django.contrib.auth import views as auth_views
from django.urls import path

from supportdesk.signin import account, locks, views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.sign_in_code, name="login-code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", account.account, name="account"),
    path("account/two-factor/", account.two_factor_setup, name="two-factor-setup"),
    path("account/two-factor/qr.svg", account.two_factor_qr, name="two-factor-qr"),
    path(
        "account/two-factor/recovery-codes/",
        account.two_factor_codes,
        name="two-factor-codes",
    ),
    path(
        "account/two-factor/recovery-codes/new/",
        account.new_recovery_codes,
        name="two-factor-new-codes",
    ),
    path(
        "account/two-factor/remove/",
        account.two_factor_remove,
        name="two-factor-remove",
    ),
    path(
        "account/sessions/sign-out-others/",
        account.sign_out_others,
        name="sign-out-others",
    ),
    path("supervisor/sign-in-locks/", locks.sign_in_locks, name="sign-in-locks"),
    path("supervisor/sign-in-locks/unlock/", locks.unlock, name="sign-in-unlock"),
]
