"""Login throttling (django-axes): whose failures count, and what a successful login forgets.

`client_address` is AXES_CLIENT_IP_CALLABLE (dashboard/settings.py); `forget_login_failures`
is connected to `user_logged_in` in conversations/apps.py.
"""

import ipaddress

from axes.utils import reset as axes_reset
from django.conf import settings


def client_address(request):
    """The client's address, for login throttling (django-axes).

    Behind TRUSTED_PROXIES proxies, each of which appends the address it saw to
    X-Forwarded-For, the client is that many entries from the right; anything further left
    was written by the client and could be forged. Without proxies it is the socket's peer.

    An entry that is not an IP address (a proxy that passes on what the client sent, or one
    proxy too many counted) is not a client we can name: the failure is counted under the
    socket's peer, the proxy, instead. It still counts, one forger cannot lock out a real
    client, and axes never gets a value that PostgreSQL's inet column refuses with a 500.
    """
    hops = settings.TRUSTED_PROXIES
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if hops and len(forwarded) >= hops:
        address = ip_address_or_none(forwarded[-hops])
        if address:
            return address
    return request.META.get("REMOTE_ADDR", "")


def ip_address_or_none(text):
    """An IPv4 or IPv6 address in its one canonical spelling, or None for anything else.

    Canonical, so that `2001:db8::1` and `2001:0db8:0::1` are counted as one client. A zone
    (`fe80::1%eth0`) names an interface of the proxy's host, not a client: refused too.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if getattr(address, "scope_id", None):
        return None
    return str(address)


def forget_login_failures(sender, request, user, **kwargs):
    """On a login, forget the failed logins of that account from that address, and no more.

    Connected to `user_logged_in` in conversations/apps.py, instead of django-axes'
    AXES_RESET_ON_SUCCESS, which forgets every failure from the address whatever the user
    name: four guesses at a colleague's password, a login to one's own account, and again,
    without end. Failures for the account from other addresses stay too: a right password
    here says nothing about who typed the wrong ones there.
    """
    address = client_address(request) if request is not None else ""
    # Without an address axes' reset would forget the account's failures from everywhere.
    if address:
        axes_reset(ip=address, username=user.get_username())
