"""axe-core, run in the page a browser test has open, and its findings as readable text.

axe-core comes from the npm registry (package.json; `make test` installs it with npm ci).
"""

from pathlib import Path

from tests.helpers import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# axe's default rules (WCAG 2 A and AA, and its best practices), none turned off, and its
# experimental ones turned on: among them label-content-name-mismatch (a control's accessible
# name holds its visible text, WCAG 2.5.3), which speech users rely on. The result types are
# limited to violations: passes and incomplete checks are not read, and collecting them
# doubles the time a run takes.
RUN = """async () => {
  const experimental = axe.getRules(["experimental"]).map(rule => rule.ruleId);
  const rules = Object.fromEntries(experimental.map(id => [id, {enabled: true}]));
  const results = await axe.run(document, {rules, resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    url: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(String).join(" "), summary: n.failureSummary})),
  }));
}"""


def source():
    if not AXE.exists():
        raise FileNotFoundError(f"{AXE} is missing: run `npm ci` (make test does)")
    return Path(AXE).read_text(encoding="utf-8")


def violations(page):
    """axe-core's violations on the page as it is now. The page's CSP allows no inline script:
    axe goes in through the DevTools protocol (page.evaluate), which the policy does not cover,
    so the page under test keeps its real policy."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source())
    return page.evaluate(RUN)


def describe(found):
    """Each violation with its rule, impact, help text and every element it names."""
    lines = []
    for violation in found:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} <{violation['url']}>"
        )
        for node in violation["nodes"]:
            summary = " / ".join(line.strip() for line in (node["summary"] or "").splitlines())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def findings(page, name):
    """What axe-core found on the page, as a paragraph naming the page; empty when nothing."""
    found = violations(page)
    if not found:
        return ""
    return f"axe-core found {len(found)} violation(s) on {name}:\n{describe(found)}"
