import re, json, collections
from fam import F
lh=[l.split()[0] for l in open('lh.txt') if l.strip()]
kf=[r['id'] for r in json.load(open('kf.json'))]
gl=[l.strip() for l in open('gl.txt') if l.strip()]
np_=[l.split('|')[0] for l in open('np.txt') if l.strip()]
th=[t for t in open('th_raw.txt').read().split() if not t.endswith('*') and t not in ('Test','Generic')]
items=[('lh',x) for x in lh]+[('kf',x) for x in kf]+[('gl',x) for x in gl]+[('np',x) for x in np_]+[('th',x) for x in th]
comp=[(a,f,[re.compile(p) for p in ps]) for a,f,ps in F]
fam_members=collections.OrderedDict(((a,f),[]) for a,f,_ in F)
unmatched=[]
for src,i in items:
    key=f"{src}:{i}"
    hit=None
    for a,f,ps in comp:
        if any(p.fullmatch(key) for p in ps): hit=(a,f); break
    if hit: fam_members[hit].append((src,i))
    else: unmatched.append((src,i))
MULTI=['new-relic','cisco-meraki','defined-networking','microsoft-teams','octopus-deploy','clickhouse-cloud','weights-and-biases','redirect-pizza','val-town','brave-search','lighton-paradigm','llama-cloud','temporal-cloud','stability-ai','rainforest-pay','canadian-digital-service']
ALIAS={'mulesoft':'anypoint','particle':'particleio','pivotal':'pivotaltracker','tines':'tineswebhook','data':'datagov','etsyopen':'etsy','bitly':'bitly','bitlyaccesstoken':'bitly','frameio':'frameio','nytimes':'nytimes','monday':'monday','wakatime':'wakatime','typeform':'typeform','twitter':'twitter','twitterapisecret':'twitter','facebookoauth':'facebook','lob':'lob','asanaoauth':'asana','asanapersonal':'asana','hubspotoauth':'hubspot','hubspotapi':'hubspot','hubspot':'hubspot','contentfulpersonal':'contentful','contentfuldelivery':'contentful','figmapersonal':'figma','clickuppersonal':'clickup','clickup':'clickup','avazapersonal':'avaza','trelloapi':'trello','linearapi':'linear','salesforceoauth2':'salesforce','youtubeapi':'youtube','spotify':'spotify','shodan':'shodan','maxmindlicense':'maxmind','maxmind':'maxmind','adafruitio':'adafruit','adafruit':'adafruit','adobeio':'adobe','algoliaadmin':'algolia','calendlyapi':'calendly','zapierwebhook':'zapier','etsyapi':'etsy','ubidots':'ubidots','particleio':'particleio','readme':'readme','rapidapi':'rapidapi','virustotal':'virustotal','openweather':'openweather','weatherstack':'weatherstack','datagov':'datagov','apollo':'apollo','hunter':'hunter','notion':'notion','miro':'miro','mux':'mux','nylas':'nylas','samsara':'samsara','segment':'segment','atlassian':'atlassian','jiratoken':'atlassian','disqus':'disqus','linkedin':'linkedin','twitch':'twitch','easypost':'easypost','shippo':'shippo','goshippo':'shippo','squarespace':'squarespace','pinterest':'pinterest','lichess':'lichess','mapbox':'mapbox','sendinblue':'brevo','blynk':'blynk','thingsboard':'thingsboard','pivotaltracker':'pivotaltracker','webflow':'webflow'}
def pkey(src,i):
    if src=='th':
        s=i.lower()
        if s in ('convertapi',): return s
        for suf in ['personalaccesstoken','personaltoken','accesstoken','apikey','apitoken','apisecret','metadataapikey','integrationkey','projectkey','userkey','licensekey','license','token','key','oauth2','oauth','api']:
            if s.endswith(suf) and len(s)>len(suf)+2: s=s[:-len(suf)]; break
        return ALIAS.get(s,s)
    if src=='np':
        return ALIAS.get(i.split('.')[1],i.split('.')[1])
    x=i.split('.',1)[1] if src=='kf' else i
    x=re.sub(r'\.\d+$','',x)
    for m in MULTI:
        if x.startswith(m): return m.replace('-','')
    p=x.split('-')[0]
    return ALIAS.get(p,p)
auto=collections.OrderedDict()
for src,i in unmatched:
    if src=='lh': print('UNMATCHED LH',i)
    auto.setdefault(pkey(src,i),[]).append((src,i))
json.dump({'fam':[[a,f,m] for (a,f),m in fam_members.items()],'auto':auto},open('out.json','w'),indent=0)
empty=[f for (a,f),m in fam_members.items() if not m]
print('families',len(fam_members),'empty',empty)
print('auto',len(auto))
for k,v in sorted(auto.items()):
    if len(set(s for s,_ in v))>1 or any(s!='th' for s,_ in v): print(k, v)
