#!/usr/bin/python3
"""The man pages document what the code knows, read from the code itself.

usage: check-coverage.py SOURCE_ROOT

- sauthd.conf(5): every key of sauthd/config.c's key table and of the
  [provider NAME] sections, under its own section, with the code's default
  (and the shipped sauthd.conf's), and "Range: MIN..MAX" for each number;
  no key the code does not know.
- pam_sessionauth(8): every argument pam_sessionauth.c parses, with its
  range and default; every row of common/sauth-errors.c's table, as a row
  "error | PAM code"; every PAM code the module or the table returns.
- sauthctl(1): every verb of the verb table with the options it takes,
  every long option, every exit code.
- org.sessionauth.SessionAuth1(5): every method of the introspection XML
  with its signature, who may call it (the authorization table in
  sauthd/*-bus.c), every error name with its PAM code.

Prints one line per problem and exits 1 if there is any.
"""

import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
problems = []


def problem(page, text):
    problems.append(f'{page}: {text}')


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def block(text, start, end='\n};'):
    """The text from the line holding start to the first end after it."""
    i = text.index(start)
    return text[i:text.index(end, i)]


def define(text, name):
    return int(re.search(rf'#define {name}\s+(\d+)', text).group(1))


# ------------------------------------------------------------ scdoc parsing

class Page:
    """A .scd file: sections (# X), subsections (## X), terms with their
    indented descriptions, and table rows."""

    def __init__(self, name):
        self.name = name
        self.lines = read(f'docs/man/{name}.scd').splitlines()

    def section(self, title):
        out, inside = [], False
        for line in self.lines:
            if line.startswith('# '):
                inside = line[2:].strip() == title
                continue
            if inside:
                out.append(line)
        if not out:
            problem(self.name, f'no section "{title}"')
        return out

    @staticmethod
    def subsections(lines):
        """{heading: [lines]} of the ## headings in lines."""
        subs, cur = {}, None
        for line in lines:
            if line.startswith('## '):
                cur = line[3:].strip()
                subs[cur] = []
            elif cur is not None:
                subs[cur].append(line)
        return subs

    @staticmethod
    def terms(lines):
        """[(term line, description)] of term lines (not indented, with a
        *bold* word) followed by tab-indented text."""
        out = []
        for i, line in enumerate(lines):
            if not line or line[0] in '\t #|:[' or '*' not in line:
                continue
            desc = []
            for d in lines[i + 1:]:
                if not d.startswith('\t'):
                    break
                desc.append(d.strip())
            if desc:
                out.append((line, ' '.join(desc)))
        return out

    def table_rows(self):
        rows = []
        for line in self.lines:
            m = re.match(r'^(\[\[|\||:)(.)(.*)$', line)
            if not m:
                continue
            cell = m.group(3).strip().strip('*')
            if m.group(1) == ':':
                rows[-1].append(cell)
            else:
                rows.append([cell])
        return rows


def strip_markup(s):
    return s.replace('*', '').replace('\\_', '_')


# ------------------------------------------------------------ sauthd.conf(5)

def check_conf():
    page = Page('sauthd.conf.5')
    code = read('sauthd/config.c')
    names = read('common/sauth-names.h')
    consts = {
        'DAY': 24 * 3600,
        'YEAR': 365 * 24 * 3600,
        'SAUTH_PASSWORD_LENGTH_LIMIT': define(names, 'SAUTH_PASSWORD_LENGTH_LIMIT'),
    }

    def value(expr):
        expr = expr.strip()
        for k, v in consts.items():
            expr = re.sub(rf'\b{k}\b', str(v), expr)
        if not re.fullmatch(r'[\d\s*+()-]+', expr):
            raise ValueError(expr)
        return eval(expr)  # digits and arithmetic only, checked above

    # The key table: section, key, field, range.
    keys = {}
    for m in re.finditer(r'^\s*([KNP])\("(\w+)",\s*"(\w+)",\s*(.*)\),\s*$',
                         block(code, 'static const KeyDef key_table[]'), re.M):
        kind, section, key, args = m.groups()
        args = [a.strip() for a in args.split(',')]
        entry = {'type': None if kind == 'P' else args[0],
                 'field': args[0] if kind == 'P' else args[1]}
        if kind == 'N':
            entry['range'] = (value(args[2]), value(args[3]))
        keys[(section, key)] = entry
    if len(keys) < 40:
        problem(page.name, f'only {len(keys)} keys read from config.c: the parser needs an update')

    # Defaults: numbers and policies of the initializer, strings strdup'ed.
    defaults = {}
    init = block(code, '*c = (SauthConfig) {', '};')
    policy = {'LOGIN_OPEN': 'open', 'LOGIN_CLOSED': 'closed', 'LOGIN_AUTO': 'auto', 'LOGIN_ADMIN': 'admin'}
    for field, v in re.findall(r'\.(\w+) = (\w+),', init):
        defaults[field] = policy.get(v, v)
    for field, v in re.findall(r'c->(\w+) = strdup\("([^"]*)"\);', code):
        defaults[field] = v
    nonliteral = set(re.findall(r'c->(\w+) = strdup\([^"]', code)) | \
        set(re.findall(r'asprintf\(&c->(\w+)', code))

    # The provider sections' keys, range and defaults.
    prov = block(code, 'static int apply_provider_key', '\n}\n')
    provider_keys = set(re.findall(r'\{ "(\w+)",\s*offsetof\(ProviderConfig', prov))
    provider_keys |= set(re.findall(r'streq\(key, "(\w+)"\)', prov))
    lo, hi = re.search(r'v < (\d+) \|\| v > (\d+)', prov).groups()
    prov_timeout = re.search(r'\.timeout = (\d+)', block(code, 'static ProviderConfig *provider_get', '\n}\n')).group(1)
    oauth = read('sauthd/oauth.c')
    prov_scopes = set(re.findall(r'c->scopes \?: "([^"]+)"', oauth))

    # The page: ## [section], then "*key* = default" terms.
    doc = {}
    subs = Page.subsections(page.section('SECTIONS AND KEYS'))
    for heading, lines in subs.items():
        m = re.fullmatch(r'\[(.+)\]', heading)
        if not m:
            problem(page.name, f'subsection "{heading}" is not a [section]')
            continue
        for term, desc in Page.terms(lines):
            t = re.fullmatch(r'\*(\w+)\* =(.*)', term)
            if not t:
                problem(page.name, f'[{m.group(1)}]: term "{term}" is not "*key* = default"')
                continue
            doc[(m.group(1), t.group(1))] = (strip_markup(t.group(2).strip()), desc)

    for (section, key), k in sorted(keys.items()):
        name = f'[{section}] {key}'
        if (section, key) not in doc:
            problem(page.name, f'{name} is not documented (a "*{key}* = DEFAULT" term under "## [{section}]")')
            continue
        shown, desc = doc[(section, key)]
        field = k['field']
        if field in nonliteral:
            pass
        elif field in defaults:
            want = defaults[field]
            if k['type'] == 'KEY_DOUBLE':
                want = str(value(want))
            if shown != want:
                problem(page.name, f'{name}: default shown "{shown}", config.c has "{want}"')
        elif k['type'] == 'KEY_BOOL':
            if shown != 'no':
                problem(page.name, f'{name}: default shown "{shown}", config.c has "no"')
        elif shown != '':
            problem(page.name, f'{name}: default shown "{shown}", config.c has none')
        if 'range' in k:
            want = f'Range: {k["range"][0]}..{k["range"][1]}.'
            if want not in desc:
                problem(page.name, f'{name}: the description does not say "{want}"')

    for section, key in sorted(doc):
        if section.startswith('provider '):
            if key not in provider_keys:
                problem(page.name, f'[{section}] {key} is documented but config.c does not know it')
        elif (section, key) not in keys:
            problem(page.name, f'[{section}] {key} is documented but config.c does not know it')

    psec = 'provider NAME'
    for key in sorted(provider_keys):
        if (psec, key) not in doc:
            problem(page.name, f'[{psec}] {key} is not documented')
    if (psec, 'timeout') in doc:
        shown, desc = doc[(psec, 'timeout')]
        if shown != prov_timeout or f'Range: {lo}..{hi}.' not in desc:
            problem(page.name, f'[{psec}] timeout: want default {prov_timeout} and "Range: {lo}..{hi}."')
    if (psec, 'scopes') in doc and doc[(psec, 'scopes')][0] not in prov_scopes:
        problem(page.name, f'[{psec}] scopes: default shown "{doc[(psec, "scopes")][0]}", oauth.c has {prov_scopes}')
    if '[resources]' not in subs:
        problem(page.name, 'no "## [resources]" subsection')

    # The shipped file's values are the documented defaults.
    section = None
    for line in read('sauthd/data/sauthd.conf.in').splitlines():
        m = re.fullmatch(r'\[(.+)\]', line.strip())
        if m:
            section = m.group(1)
            continue
        m = re.fullmatch(r'(\w+)\s*=\s*(.*)', line.strip())
        if not m or (section, m.group(1)) not in doc:
            continue
        shown = doc[(section, m.group(1))][0]
        # The template's placeholders, as the page spells them.
        value = m.group(2).strip().replace('@statedir@', '@STATEDIR@') \
                                  .replace('@admin_group@', 'sauth-admin') \
                                  .replace('@templatesdir@', '@TEMPLATES_DIR@')
        if shown != value:
            problem(page.name, f'[{section}] {m.group(1)}: default shown "{shown}", '
                               f'sauthd/data/sauthd.conf.in has "{m.group(2).strip()}"')


# ------------------------------------------------------------ pam_sessionauth(8)

# Rows of the status table that are no D-Bus error, as the page names them.
STATUS_ROWS = {'Ok': '(success)', 'Unreachable': '(unreachable)', 'MustChange': '(must change)',
               'Unknown': '(other)'}


def status_table():
    """[(row name, D-Bus error or None, PAM code)] of common/sauth-errors.c."""
    text = block(read('common/sauth-errors.c'), 'static const struct status_row status_table')
    rows = [(n, n, p) for n, p in re.findall(r'ROW\("(\w+)",\s*(PAM_\w+)\)', text)]
    rows += [(n, None, p) for n, p in re.findall(r'\{ "(\w+)", NULL, (PAM_\w+) \}', text)]
    if len(rows) < 15:
        problem('sauth-errors.c', f'only {len(rows)} rows read: the parser needs an update')
    return rows


def check_pam():
    page = Page('pam_sessionauth.8')
    code = read('pam_sessionauth/pam_sessionauth.c')
    flags = set(re.findall(r'\{ "(\w+)",\s*&a->', block(code, 'static bool args_parse_flag', '\n}\n')))
    values = set(re.findall(r'arg_value\(arg, "(\w+)"\)', block(code, 'static bool args_parse_value', '\n}\n')))
    if len(flags) < 3 or len(values) < 5:
        problem(page.name, 'too few arguments read from pam_sessionauth.c: the parser needs an update')

    doc_flags, doc_values = {}, {}
    for term, desc in Page.terms(page.section('OPTIONS')):
        m = re.fullmatch(r'\*(\w+)\*', term)
        if m:
            doc_flags[m.group(1)] = desc
            continue
        m = re.match(r'\*(\w+)=', term)
        if m:
            doc_values[m.group(1)] = desc
            continue
        problem(page.name, f'OPTIONS: term "{term}" is not "*flag*" or "*name=*VALUE"')
    for a in sorted(flags - doc_flags.keys()):
        problem(page.name, f'argument "{a}" is not documented (a "*{a}*" term in OPTIONS)')
    for a in sorted(values - doc_values.keys()):
        problem(page.name, f'argument "{a}=" is not documented (a "*{a}=*VALUE" term in OPTIONS)')
    for a in sorted(doc_flags.keys() - flags):
        problem(page.name, f'"{a}" is documented but the module does not parse it')
    for a in sorted(doc_values.keys() - values):
        problem(page.name, f'"{a}=" is documented but the module does not parse it')

    for arg, lo, max_name, def_name in (('timeout', 1, 'MAX_TIMEOUT_SEC', 'DEFAULT_TIMEOUT_SEC'),
                                        ('retry', 1, 'MAX_RETRY', 'DEFAULT_RETRY')):
        want = f'{lo} to {define(code, max_name)}, default {define(code, def_name)}'
        if want not in doc_values.get(arg, want):
            problem(page.name, f'{arg}=: the description does not say "{want}"')

    rows = page.table_rows()
    for name, error, pam in status_table():
        label = error or STATUS_ROWS.get(name)
        if label is None:
            problem(page.name, f'status "{name}" of sauth-errors.c has no name in this checker')
        elif not any(r[:2] == [label, pam] for r in rows):
            problem(page.name, f'RETURN VALUES: no table row "{label} | {pam}"')

    text = '\n'.join(page.lines)
    codes = set(re.findall(r'PAM_[A-Z_]+', block(read('common/sauth-errors.c'), 'static const struct status_row')))
    codes |= set(re.findall(r'PAM_[A-Z_]+', block(read('common/sauth-errors.c'), 'int sauth_status_to_pam_session', '\n}\n')))
    codes |= set(re.findall(r'return (PAM_[A-Z_]+)', code))
    for c in sorted(codes):
        if f'*{c}*' not in text and not any(c in r[:2] for r in rows):
            problem(page.name, f'PAM code {c} is not documented')


# ------------------------------------------------------------ sauthctl(1)

def check_sauthctl():
    page = Page('sauthctl.1')
    code = read('sauthctl/sauthctl.c')
    verbs = re.findall(r'\{ "([a-z -]+)", verb_\w+, \d+, \d+, ([A-Z_ |0]+),',
                       block(code, 'static const Verb verbs[]'))
    if len(verbs) < 20:
        problem(page.name, f'only {len(verbs)} verbs read from sauthctl.c: the parser needs an update')
    terms = [t for t, _ in Page.terms(page.section('COMMANDS'))]
    for verb, opts in verbs:
        words = verb.split()
        lines = [t for t in terms if f'*{verb}*' in t or (len(words) == 2 and f'*{words[0]}* *{words[1]}*' in t)]
        if not lines:
            problem(page.name, f'verb "{verb}" is not documented (a term "*{verb}* ..." in COMMANDS)')
            continue
        for opt in re.findall(r'OPT_(\w+)', opts):
            flag = '--' + opt.lower().replace('_', '-')
            if not any(f'*{flag}*' in t for t in lines):
                problem(page.name, f'verb "{verb}": option {flag} missing from its term')

    text = '\n'.join(page.lines)
    options = re.findall(r'\{ "([a-z-]+)",\s*(?:required|no)_argument', block(code, 'static int parse_argv', '\n}\n'))
    for o in options:
        if f'*--{o}*' not in text:
            problem(page.name, f'option --{o} is not documented')

    exits = {n: int(v) for n, v in re.findall(r'(EXIT_\w+) = (\d+)', read('sauthctl/sauthctl.h'))}
    documented = {int(t.strip('*')) for t, _ in Page.terms(page.section('EXIT STATUS'))}
    for n, v in sorted(exits.items()):
        if v not in documented:
            problem(page.name, f'exit status {v} ({n}) is not documented')
    for v in sorted(documented - set(exits.values())):
        problem(page.name, f'exit status {v} is documented but sauthctl.h has no such code')


# ------------------------------------------------------------ org.sessionauth.SessionAuth1(5)

WHO = {'BUS_ANYONE': 'anyone', 'BUS_SELF': 'admin, self', 'BUS_SELF_UID': 'admin, self',
       'BUS_SELF_APIKEY': "admin, self (the key's owner)",
       'BUS_ADMIN': 'admin', 'BUS_REGISTER': 'admin; anyone with [login] register = open'}


def check_dbus():
    page = Page('org.sessionauth.SessionAuth1.5')
    xml = ET.parse(os.path.join(ROOT, 'sauthd/data/org.sessionauth.SessionAuth1.xml'))
    methods = {}
    for m in xml.iter('method'):
        args = {'in': [], 'out': []}
        for a in m.iter('arg'):
            args[a.get('direction', 'in')].append(f'{a.get("type")} {a.get("name")}')
        methods[m.get('name')] = f'{m.get("name")}({", ".join(args["in"])}) -> ({", ".join(args["out"])})'

    levels = re.findall(r'^\s*(BUS_[A-Z_]+),\s*/\*', read('sauthd/bus-method.h'), re.M)
    if len(levels) < 4:
        problem(page.name, f'only {len(levels)} access levels read from bus-method.h: the parser needs an update')
    for level in levels:
        if level not in WHO:
            problem(page.name, f'access level {level} of sauthd/bus-method.h has no "Who:" text in this checker')
    access = {}
    for path in sorted(glob.glob(os.path.join(ROOT, 'sauthd', '*-bus.c'))):
        with open(path, encoding='utf-8') as f:
            for name, who in re.findall(r'BUS_METHOD(?:_FROM_MEMORY)?\("(\w+)",.*?\b(' + '|'.join(levels) + r')\b',
                                        f.read(), re.S):
                access[name] = who

    subs = Page.subsections(page.section('METHODS'))
    by_name = {h.split('(')[0]: (h, lines) for h, lines in subs.items()}
    for name, signature in methods.items():
        if name not in by_name:
            problem(page.name, f'method {name} is not documented (want "## {signature}")')
            continue
        heading, lines = by_name[name]
        if heading != signature:
            problem(page.name, f'method {name}: heading "{heading}", the XML says "{signature}"')
        who = next((l[5:] for l in lines if l.startswith('Who: ')), None)
        want = WHO.get(access.get(name))
        if want is None:
            problem(page.name, f'method {name}: not found in the authorization table of sauthd/*-bus.c')
        elif who is None or not who.startswith(want) or who[len(want):len(want) + 1] not in ('.', ';'):
            problem(page.name, f'method {name}: "Who: {who}", the authorization table says "{want}"')
    for name in sorted(by_name.keys() - methods.keys()):
        problem(page.name, f'method {name} is documented but not in the introspection XML')

    rows = page.table_rows()
    errors = [(e, p) for _, e, p in status_table() if e]
    for error, pam in errors:
        if not any(r and r[0] == error and r[-1] == pam for r in rows):
            problem(page.name, f'ERRORS: no table row "{error} | ... | {pam}"')
    known = {e for e, _ in errors}
    for r in rows[1:]:
        if r[0] not in known:
            problem(page.name, f'ERRORS: "{r[0]}" is not an error of common/sauth-errors.c')


check_conf()
check_pam()
check_sauthctl()
check_dbus()
for p in problems:
    print(p)
if problems:
    print(f'{len(problems)} problems')
    sys.exit(1)
print('ok: every key, argument, code, verb, method and error is documented')
