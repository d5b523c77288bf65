#!/usr/bin/env python3
# Regenerates the Inputs and Outputs tables of module/README.md from variables.tf and
# outputs.tf (between the BEGIN/END markers). Run from module/: python3 docs/gen-readme.py
# scripts/test-module.sh fails when the README is out of date.
import re, sys
def blocks(text, kind):
    out=[]
    for m in re.finditer(r'^%s "([^"]+)" \{' % kind, text, re.M):
        name=m.group(1); i=m.end(); depth=1
        while depth:
            c=text[i]; depth+= (c=='{') - (c=='}'); i+=1
        out.append((name,text[m.end():i-1]))
    return out
def esc(s): return s.replace('|','\\|')
v=open('variables.tf').read()
rows=["| Name | Description | Type | Default |","|---|---|---|---|"]
for name,body in blocks(v,'variable'):
    d=re.search(r'description\s*=\s*<<-EOT\n(.*?)\n\s*EOT',body,re.S)
    if d: desc=' '.join(l.strip() for l in d.group(1).splitlines())
    else: desc=re.search(r'description\s*=\s*"((?:[^"\\]|\\.)*)"',body).group(1).replace('\\"','"')
    t=re.search(r'type\s*=\s*(object\(\{.*?\n  \}\)|[^\n]+)',body,re.S).group(1)
    t='object (see description)' if t.startswith('object') else t.strip()
    dm=re.search(r'\n  default\s*=\s*([^\n]+)',body)
    default=dm.group(1).strip() if dm else None
    sens=' (sensitive)' if re.search(r'sensitive\s*=\s*true',body) else ''
    dcell='**required**' if default is None else '`'+esc(default)+'`'
    rows.append("| `%s`%s | %s | `%s` | %s |" % (name, sens, esc(desc), esc(t), dcell))
o=open('outputs.tf').read()
orows=["| Name | Description | Sensitive |","|---|---|---|"]
for name,body in blocks(o,'output'):
    desc=re.search(r'description\s*=\s*"((?:[^"\\]|\\.)*)"',body).group(1)
    sens='yes' if re.search(r'sensitive\s*=\s*true',body) else 'no'
    orows.append("| `%s` | %s | %s |" % (name, esc(desc), sens))
readme=open('README.md').read()
def put(readme, tag, rows):
    a='<!-- BEGIN %s -->' % tag; b='<!-- END %s -->' % tag
    i=readme.index(a)+len(a); j=readme.index(b)
    return readme[:i]+'\n'+'\n'.join(rows)+'\n'+readme[j:]
readme=put(readme,'INPUTS',rows); readme=put(readme,'OUTPUTS',orows)
open('README.md','w').write(readme)
print(len(rows)-2, 'inputs', len(orows)-2, 'outputs')
