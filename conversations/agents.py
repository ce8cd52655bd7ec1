"""The agents the dashboard has met, by name, and the agent filter read from a query.

The platform has no call that lists agents, so the list remembers each one it meets, in the
shared cache, and XUNA_AGENT_NAMES names those that the platform leaves unnamed.
"""

from django.conf import settings
from django.core.cache import cache

from conversations import client

AGENTS_SEEN_KEY = "conversations:agents-seen"
# A bound on what one cache key holds; past it, new agents are shown by id.
AGENTS_SEEN_MAX = 500


def agents_seen(seen=None):
    """{id: name} of every agent seen so far, by name, with XUNA_AGENT_NAMES taking precedence."""
    if seen is None:
        seen = cache.get(AGENTS_SEEN_KEY, {})
    names = {**seen, **settings.XUNA_AGENT_NAMES}
    return dict(sorted(names.items(), key=lambda item: (item[1] or item[0]).casefold()))


def remember_agents(conversations, agents):
    """Add agents met on this page to the shared list; one cache write, only when one is new."""
    new = {
        c.agent_id: c.agent_name or ""
        for c in conversations
        if c.agent_id and (c.agent_id not in agents or (c.agent_name and not agents[c.agent_id]))
    }
    if not new or len(agents) >= AGENTS_SEEN_MAX:
        return agents
    seen = {**cache.get(AGENTS_SEEN_KEY, {}), **new}
    cache.set(AGENTS_SEEN_KEY, seen, None)
    return agents_seen(seen)


def agent_filter(raw, agents=None, *, lenient=False):
    """The agent id a filter names: a pasted id, or a known agent's name typed in full.

    None for no filter. Anything else raises client.InvalidIdentifier (a 400), unless
    `lenient`: a filter carried in one of our own links (`list_query`) is dropped instead,
    so that a bad one costs the link its filter, not the page. `agents` saves a cache read
    for a caller that already has them.
    """
    raw = (raw or "").strip()
    if not raw:
        return None
    if agents is None:
        agents = agents_seen()
    by_name = {name.casefold(): agent_id for agent_id, name in agents.items() if name}
    try:
        return client.validate_id(by_name.get(raw.casefold(), raw))
    except client.InvalidIdentifier:
        if lenient:
            return None
        raise


def agent_filter_texts(agents):
    """{agent id: what the agent filter's box shows for it}: the agent's name where that name,
    typed back in, names this agent (agent_filter reads it so: the last agent of a name has
    it, and the box is stripped), else its id. One pass over the agents, for a page's choices."""
    by_name = {name.casefold(): agent_id for agent_id, name in agents.items() if name}
    return {
        agent_id: name
        if name and name == name.strip() and by_name[name.casefold()] == agent_id
        else agent_id
        for agent_id, name in agents.items()
    }


def agent_filter_text(agent_id, agents):
    """What the agent filter's box shows for one agent (agent_filter_texts)."""
    return agent_filter_texts(agents).get(agent_id, agent_id)
