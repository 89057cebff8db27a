import json, re, collections
d=json.load(open('out.json'))
lhnames={l.split()[0]:l for l in open('lh.txt') if l.strip()}
SAAS={'atlassian':'Atlassian (Jira / Confluence) API token','linear':'Linear API key','notion':'Notion integration token','asana':'Asana token','dropbox':'Dropbox access token','box':'Box API token','hubspot':'HubSpot key / token','salesforce':'Salesforce access token','zoho':'Zoho credentials','monday':'monday.com API token','clickup':'ClickUp token','miro':'Miro token','figma':'Figma personal access token','trello':'Trello API key','pivotaltracker':'Pivotal Tracker token','contentful':'Contentful token','typeform':'Typeform token','mapbox':'Mapbox secret token','algolia':'Algolia API key','cloudinary':'Cloudinary API secret','adobe':'Adobe client secret','canva':'Canva client secret','readme':'ReadMe API key','rapidapi':'RapidAPI key','settlemint':'SettleMint token','samsara':'Samsara API token','nylas':'Nylas API key','mux':'Mux token','docusign':'DocuSign credentials','workday':'Workday credentials','shippo':'Shippo API token','easypost':'EasyPost API key','lob':'Lob API key','apify':'Apify token','workato':'Workato token','zuplo':'Zuplo API key','beamer':'Beamer API token','frameio':'Frame.io token','freshbooks':'FreshBooks token','maxmind':'MaxMind license key','virustotal':'VirusTotal API key','abuseipdb':'AbuseIPDB API key','onfido':'Onfido API token','persona':'Persona API key','proof':'Proof API key','instantly':'Instantly API key','valtown':'Val Town token','redirectpizza':'redirect.pizza token','webflow':'Webflow token','pipedrive':'Pipedrive token','freshdesk':'Freshdesk key','helpscout':'Help Scout key','squarespace':'Squarespace token','zapier':'Zapier webhook','tineswebhook':'Tines webhook','pipedream':'Pipedream key','customerio':'Customer.io key','shortcut':'Shortcut token','anypoint':'MuleSoft Anypoint credentials','ubidots':'Ubidots token','particleio':'particle.io token','blynk':'Blynk token','thingsboard':'ThingsBoard token','nasa':'NASA API key','datagov':'Data.gov API key','openweather':'OpenWeather API key','weatherstack':'Weatherstack key','hunter':'Hunter.io key','apollo':'Apollo.io key','wakatime':'WakaTime key','borgbase':'BorgBase token','teamviewer':'TeamViewer token','nightfall':'Nightfall key','censys':'Censys key','shodan':'Shodan key','securitytrails':'SecurityTrails key','urlscan':'urlscan.io key','alienvault':'AlienVault OTX key','detectify':'Detectify key','ethplorer':'Ethplorer key','etherscan':'Etherscan key','infura':'Infura key','alchemy':'Alchemy key','moralis':'Moralis key','bscscan':'BscScan key','coinmarketcap':'CoinMarketCap key','blocknative':'Blocknative key','bitgo':'BitGo token','bitfinex':'Bitfinex key','bitmex':'BitMEX key','poloniex':'Poloniex key','cexio':'CEX.IO key','nicehash':'NiceHash key','luno':'Luno key','gemini':'Gemini'}
SOCIAL={'facebook':'Facebook app secret / access token','twitter':'Twitter / X API credentials','linkedin':'LinkedIn client secret','twitch':'Twitch API token','pinterest':'Pinterest access token','lichess':'Lichess token','youtube':'YouTube API key','spotify':'Spotify key','flickr':'Flickr token','disqus':'Disqus API key','etsy':'Etsy API key','ebay':'eBay client credentials','intra42':'42 Intra client secret','nytimes':'New York Times API key','imgur':'Imgur key','strava':'Strava key','lastfm':'Last.fm key','riotgames':'Riot Games key','kakaotalk':'KakaoTalk key','wechatapp':'WeChat app key','uberserver':'Uber server token','instagram':'Instagram','gitalk':'Gitalk'}
MARK='✓'
rows=collections.OrderedDict()
def add(area,fam,members):
    rows.setdefault(area,[]).append((fam,members))
for a,f,m in d['fam']: add(a,f,m)
other=[]
for k,m in d['auto'].items():
    if k in SAAS: add('SaaS, productivity and business APIs',SAAS[k],m)
    elif k in SOCIAL: add('Social, consumer and browser-side APIs',SOCIAL[k],m)
    else:
        th=[i for s,i in m if s=='th']
        if th: name=th[0]
        else:
            i=m[0][1]; i=i.split('.',1)[1] if i.startswith('betterleaks.') else i
            name=re.sub(r'\.\d+$','',i)
        add('Other web APIs (long tail)',name,m)
ORDER=['Cloud','Source control','CI/CD and DevOps','Identity and secrets management','Payments and finance','Messaging and email','AI and ML','Databases and data platforms','Observability','Registries and package managers','Keys and certificates','System files and command lines','Application frameworks','Generic','SaaS, productivity and business APIs','Social, consumer and browser-side APIs','Other web APIs (long tail)']
assert set(rows)==set(ORDER), set(rows)^set(ORDER)
# gap classification
B_PAT=re.compile(r'identifier|session|public key|public validation|React app|Gitalk',re.I)
IMG_AREAS=ORDER[:14]+['SaaS, productivity and business APIs']
out=[]; gaps_a=collections.OrderedDict(); gaps_b=collections.OrderedDict(); nfam=0; nours=0
for area in ORDER:
    lst=rows[area]
    if area!='Other web APIs (long tail)': lst=sorted(lst,key=lambda r:r[0].lower()) if area in ('SaaS, productivity and business APIs','Social, consumer and browser-side APIs') else lst
    else: lst=sorted(lst,key=lambda r:r[0].lower())
    out.append(f"\n### {area}\n\n| family | layerhound rule ids | Kingfisher | Nosey Parker | gitleaks | TruffleHog |\n|---|---|:-:|:-:|:-:|:-:|")
    for fam,m in lst:
        srcs={s for s,_ in m}
        ours=[i for s,i in m if s=='lh']
        peers=srcs-{'lh'}
        nfam+=1
        if ours: nours+=1
        ids=', '.join(f'`{i}`' for i in ours)
        out.append(f"| {fam} | {ids} | {MARK if 'kf' in srcs else ''} | {MARK if 'np' in srcs else ''} | {MARK if 'gl' in srcs else ''} | {MARK if 'th' in srcs else ''} |")
        if not ours and peers:
            who=', '.join(n for s,n in [('kf','Kingfisher'),('np','Nosey Parker'),('gl','gitleaks'),('th','TruffleHog')] if s in peers)
            if area in IMG_AREAS and not B_PAT.search(fam): gaps_a.setdefault(area,[]).append((fam,who))
            else: gaps_b.setdefault(area,[]).append((fam,who))
json.dump({'nfam':nfam,'nours':nours,'a':gaps_a,'b':gaps_b},open('gaps.json','w'))
open('table.md','w').write('\n'.join(out)+'\n')
print(nfam,nours,sum(len(v) for v in gaps_a.values()),sum(len(v) for v in gaps_b.values()))
for k,v in gaps_a.items(): print(k,len(v),[f for f,_ in v])
