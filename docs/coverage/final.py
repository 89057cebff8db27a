import json, datetime
NLH=sum(1 for l in open('lh.txt') if l.strip())
DATE=datetime.date.today().isoformat()
g=json.load(open('gaps.json'))
table=open('table.md').read()
a=g['a']; b=g['b']
a1={k:v for k,v in a.items() if k!='SaaS, productivity and business APIs'}
a2=a.get('SaaS, productivity and business APIs',[])
n_a1=sum(len(v) for v in a1.values()); n_a2=len(a2); n_b=sum(len(v) for v in b.values())
ours_only=None
L=[]
L.append("""# Rule coverage compared with Kingfisher, Nosey Parker, gitleaks and TruffleHog

This page lists every credential provider or family that at least one of four
peer scanners detects, and what layerhound has for it. One row per family;
the "layerhound rule ids" column lists our built-in rule ids (empty when we
have none) and the peer columns hold ✓ when that scanner has at least one
rule or detector for the family. Rows that only layerhound has are included
too, so the table is the union of all five. Names only: no peer rule text or
regex was copied.

Compiled {DATE}. Sources:

| scanner | where the list came from | size |
|---|---|---|
| layerhound | `cargo run --quiet -- rules list` on this tree | {NLH} rules |
| Kingfisher | `kingfisher rules list --format json --no-update-check` from Kingfisher 2.14.0 (PyPI wheel `kingfisher-bin` 2.14.0, `target/bench-e2e/kingfisher-venv`). In 2.14.0 the built-in list is the Betterleaks set (`betterleaks.*`, 462 rules) plus the Veles set (`veles.*`, 26 rules); no other built-in rules were listed | 488 rules |
| Nosey Parker | praetorian-inc/noseyparker, `crates/noseyparker/data/default/builtin/rulesets/default.yml` at commit 0a7e6042 (the default ruleset, with rule names), plus the rule files in `crates/noseyparker/data/default/builtin/rules/` for rules outside that ruleset (`atlassian`, `auth0`, `hashicorp` = Vault tokens, `hashicorpvault`, `hashes`, `kagi`, `nasa`, `pyx`, `tavily`, `twitch`, and `np.aws.1` for the AWS access key ID) | about 160 rules |
| gitleaks | gitleaks/gitleaks, `config/gitleaks.toml` at commit 009e025a | 218 rules |
| TruffleHog | trufflesecurity/trufflehog, the `DetectorType` enum in `proto/detectors.proto` at commit 001eb948 (one value per detector, as in `pkg/detectors/*`). Dropped: `Test`, `Generic`, `CustomRegex`, the ambiguous `User` and `Host`, and the four marked "Didn't do" (`ContentfulDelivery`, `DigitalOceanSpaces`, `ReCAPTCHA`, `GoogleApiKey`) | 908 detectors |

The peer lists come from stored copies of these repositories, not the live
ones, so newer peer releases may have more. TruffleHog's enum at that commit
ends at `Couchbase = 920`.

How families were formed: each peer rule was put into a family by provider and
credential kind (for example "GitHub fine-grained personal access token",
"Slack webhook"). Big providers (AWS, Azure, Google, GitHub, GitLab, Slack)
are split by credential kind. Smaller ones get one row per provider. Rows
marked "(identifier)" are public IDs, names or URLs that peers report as
parts of a credential pair; they are not secrets on their own. The
"Other web APIs (long tail)" area holds about 600 providers, almost all of
them TruffleHog-only detectors for niche web APIs, named as TruffleHog names them.
""")
L.append(f"Totals: **{g['nfam']} families**, {g['nours']} of them with at least one layerhound rule.\n")
L.append("## Table\n"+table)
L.append("\n## Gaps\n\nFamilies that at least one peer detects and layerhound does not. Each entry names the peers that have it.\n")
L.append(f"### (a) Could turn up in a container image\n\nThese are credentials for services, infrastructure, registries and server-side APIs: {n_a1+n_a2} families.\n")
L.append(f"#### (a1) Infrastructure, platforms, developer tools, server-side APIs: {n_a1} families\n\n" + ("Do these next. The ones that several peers have come first in each area.\n" if n_a1 else "None: each such family has a rule.\n"))
def peers_n(w): return len(w.split(', '))
for area,v in a1.items():
    L.append(f"**{area}** ({len(v)})\n")
    for fam,who in sorted(v,key=lambda x:(-peers_n(x[1]),x[0].lower())):
        L.append(f"- {fam}: {who}")
    L.append("")
L.append(f"#### (a2) Business and productivity SaaS APIs: {n_a2} families\n\n" + ("These are server-side keys that an application image can carry. They have a lower priority than (a1).\n" if n_a2 else "None: each such family has a rule.\n"))
for fam,who in sorted(a2,key=lambda x:(-peers_n(x[1]),x[0].lower())):
    L.append(f"- {fam}: {who}")
L.append("")
L.append(f"### (b) Unlikely in container images: {n_b} families\n\nThis covers public identifiers, browser-only session tokens and cookies, publishable/public keys, social and consumer APIs, and the long tail of niche web APIs. Most of the long tail is TruffleHog-only detectors that find a key through a keyword and then verify it live. Grouped by area:\n")
for area,v in b.items():
    names=sorted(f for f,_ in v)
    if len(names)>40:
        L.append(f"- **{area}** ({len(names)}): {', '.join(names)}.")
    else:
        L.append(f"- **{area}** ({len(names)}): {', '.join(names)}.")
L.append("")
open('../rules.md','w').write(('\n'.join(L)+'\n').replace('{DATE}',DATE).replace('{NLH}',str(NLH)))
print(g['nfam'],g['nours'],n_a1,n_a2,n_b)
