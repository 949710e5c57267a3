/**
 * Templates: `{{ cel }}` inside strings of step inputs. The rules, as a specification.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CelVariables } from '../cel/index.js';
import { compileTemplate, isTemplate, renderDeep, templateCtxReferences, templateIssues } from '../cel/template.js';
import { assertCelError } from './helpers/cel.js';

const vars: CelVariables = {
  ctx: {
    trigger: {
      newUser: { email: 'ada@example.com', name: 'Ada', groups: ['users', 'admins'], manager: null, age: 36 },
      count: 2,
      active: true,
    },
    lookup: { id: 'L-1', tags: { team: 'core' } },
  },
  subject: { id: 'u-1' },
};

const render = (text: string, options?: { now?: Date }) => compileTemplate(text).render(vars, options);

describe('isTemplate', () => {
  test('any {{ makes a template', () => {
    assert.equal(isTemplate('Hello {{ ctx.trigger.newUser.name }}'), true);
    assert.equal(isTemplate('unterminated {{ x'), true);
    assert.equal(isTemplate('plain text'), false);
    assert.equal(isTemplate('one { brace } only'), false);
  });
});

describe('interpolation', () => {
  test('strings insert as they are', () => {
    assert.equal(render('Hello {{ ctx.trigger.newUser.name }}!'), 'Hello Ada!');
    assert.equal(render('{{ctx.trigger.newUser.name}} <{{ ctx.trigger.newUser.email }}>'), 'Ada <ada@example.com>');
  });

  test('null inserts as empty text', () => {
    assert.equal(render('manager: [{{ ctx.trigger.newUser.manager }}]'), 'manager: []');
  });

  test('numbers and bools insert as JSON text', () => {
    assert.equal(
      render('count={{ ctx.trigger.count }} next={{ ctx.trigger.count + 1 }} active={{ ctx.trigger.active }}'),
      'count=2 next=3 active=true',
    );
    assert.equal(render('ratio={{ 1.0 / 4.0 }}'), 'ratio=0.25');
  });

  test('lists and maps insert as JSON', () => {
    assert.equal(render('groups: {{ ctx.trigger.newUser.groups }}'), 'groups: ["users","admins"]');
    assert.equal(render('tags: {{ ctx.lookup.tags }}'), 'tags: {"team":"core"}');
  });

  test('timestamps insert as RFC 3339', () => {
    const now = new Date('2024-05-01T10:00:00Z');
    assert.equal(render('at {{ now() }}', { now }), 'at 2024-05-01T10:00:00Z');
  });

  test('text without {{ is returned unchanged', () => {
    assert.equal(render('just text }} here'), 'just text }} here');
  });
});

describe('a single expression keeps its type', () => {
  test('list', () => assert.deepEqual(render('{{ ctx.trigger.newUser.groups }}'), ['users', 'admins']));
  test('map', () => assert.deepEqual(render('{{ {"id": ctx.lookup.id, "n": 1} }}'), { id: 'L-1', n: 1 }));
  test('number', () => assert.equal(render('{{ ctx.trigger.count * 10 }}'), 20));
  test('int result', () => assert.equal(render('{{ size(ctx.trigger.newUser.groups) }}'), 2));
  test('bool', () => assert.equal(render('{{ "admins" in ctx.trigger.newUser.groups }}'), true));
  test('null', () => assert.equal(render('{{ ctx.trigger.newUser.manager }}'), null));
  test('whitespace around is allowed', () => assert.equal(render('  {{ ctx.trigger.count }}\n'), 2));
  test('two expressions make a string', () => assert.equal(render('{{ ctx.trigger.count }}{{ ctx.trigger.count }}'), '22'));
});

describe('expression boundaries', () => {
  test('}} inside a CEL string literal does not end the expression', () => {
    assert.equal(render('{{ "}}" + ctx.trigger.newUser.name }}'), '}}Ada');
    assert.equal(render("x{{ '}}' }}y"), 'x}}y');
    assert.equal(render('{{ """a}}b""" }}'), 'a}}b');
    assert.equal(render('{{ "say \\"}}\\"" }}'), 'say "}}"');
  });

  test('map literals may close with }}', () => {
    assert.deepEqual(render('{{ {"a": {"b": ctx.trigger.count}} }}'), { a: { b: 2 } });
  });

  test('{{ "{{" }} writes a literal {{', () => {
    assert.equal(render('{{ "{{" }} name }}'), '{{ name }}');
  });
});

describe('template errors name the {{ }} and its offset', () => {
  test('unterminated {{ is a syntax error with its offset', () => {
    const error = assertCelError(() => compileTemplate('Hi {{ ctx.trigger.newUser.name'), 'syntax', /unterminated \{\{/, /offset 3/);
    assert.equal(error.offset, 3);
    assert.equal(error.expression, 'Hi {{ ctx.trigger.newUser.name');
  });

  test('an unterminated string literal inside {{ is a syntax error', () => {
    assertCelError(() => compileTemplate('{{ "abc }}'), 'syntax', /unterminated string literal/);
  });

  test('a syntax error inside names the expression and both positions', () => {
    const error = assertCelError(
      () => compileTemplate('ab {{ 1 + }} c'),
      'syntax',
      /\{\{ 1 \+ \}\}/,
      /offset 3 of the template/,
      /column 4 of the expression/,
    );
    assert.equal(error.offset, 9);
  });

  test('an unknown variable is a type error', () => {
    assertCelError(() => compileTemplate('x {{ ctxx.trigger }}'), 'type', /\{\{ ctxx\.trigger \}\}/, /Unknown variable: ctxx/);
  });

  test('an empty {{ }} is a syntax error', () => {
    assertCelError(() => compileTemplate('a {{  }} b'), 'syntax', /empty expression/, /offset 2/);
  });

  test('evaluation errors name the {{ }} too', () => {
    assertCelError(
      () => render('hello {{ ctx.trigger.newUser.title }}'),
      'evaluation',
      /\{\{ ctx\.trigger\.newUser\.title \}\}/,
      /offset 6/,
      /No such key: title/,
    );
  });

  test('compileTemplate is memoised', () => {
    assert.equal(compileTemplate('{{ ctx.trigger.count }}!'), compileTemplate('{{ ctx.trigger.count }}!'));
  });
});

describe('renderDeep', () => {
  test('renders template strings anywhere; other values unchanged', () => {
    const input = {
      to: '{{ ctx.trigger.newUser.email }}',
      subject: 'Welcome {{ ctx.trigger.newUser.name }}',
      groups: '{{ ctx.trigger.newUser.groups }}',
      nested: { list: ['{{ ctx.trigger.count }}', 'plain', 3, false, null], '{{ key }}': 'keys are not templates' },
      retries: 3,
    };
    assert.deepEqual(renderDeep(input, vars), {
      to: 'ada@example.com',
      subject: 'Welcome Ada',
      groups: ['users', 'admins'],
      nested: { list: [2, 'plain', 3, false, null], '{{ key }}': 'keys are not templates' },
      retries: 3,
    });
  });

  test('does not modify its input', () => {
    const input = { a: ['{{ ctx.trigger.count }}'] };
    renderDeep(input, vars);
    assert.deepEqual(input, { a: ['{{ ctx.trigger.count }}'] });
  });

  test('passes now through', () => {
    assert.deepEqual(renderDeep({ at: '{{ now() }}' }, vars, { now: new Date('2024-01-01T00:00:00Z') }), { at: '2024-01-01T00:00:00Z' });
  });
});

describe('escaping interpolated values for markup', () => {
  const shout = (text: string) => `[${text.toUpperCase()}]`;

  test("the escaper sees each interpolated value, never the template's own text", () => {
    assert.equal(
      compileTemplate('*Hi* {{ ctx.trigger.newUser.name }} ({{ ctx.trigger.count }})').render(vars, { escape: shout }),
      '*Hi* [ADA] ([2])',
    );
  });

  test('a single expression is escaped too, and renders as text', () => {
    assert.equal(compileTemplate('{{ ctx.trigger.newUser.name }}').render(vars, { escape: shout }), '[ADA]');
    assert.equal(compileTemplate('{{ ctx.trigger.newUser.groups }}').render(vars, { escape: shout }), '[["USERS","ADMINS"]]');
  });

  test('renderDeep asks escapeFor per string, with its path and container as written', () => {
    const seen: string[] = [];
    const rendered = renderDeep(
      {
        message: '{{ ctx.trigger.newUser.name }}',
        blocks: [{ type: 'mrkdwn', text: 'by {{ ctx.trigger.newUser.name }}' }],
        plain: '{{ ctx.trigger.newUser.name }}',
      },
      vars,
      {
        escapeFor: (path, container) => {
          seen.push(path.join('.'));
          const inMrkdwn = container !== undefined && !Array.isArray(container) && container.type === 'mrkdwn';
          return path[0] === 'message' || inMrkdwn ? shout : undefined;
        },
      },
    );
    assert.deepEqual(rendered, { message: '[ADA]', blocks: [{ type: 'mrkdwn', text: 'by [ADA]' }], plain: 'Ada' });
    assert.deepEqual(seen.sort(), ['blocks.0.text', 'message', 'plain']);
  });
});

describe('templateIssues', () => {
  test('lists each bad template with its path', () => {
    const issues = templateIssues({
      ok: 'Hello {{ ctx.trigger.newUser.name }}',
      list: ['fine', '{{ ctxx.a }}'],
      deep: { x: { y: 'oops {{ 1 + }}' } },
      open: 'never {{ closed',
      other: 42,
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      [['list', 1], ['deep', 'x', 'y'], ['open']],
    );
    assert.match(issues[0].message, /Unknown variable: ctxx/);
    assert.match(issues[1].message, /syntax error in \{\{ 1 \+ \}\}/);
    assert.match(issues[2].message, /unterminated \{\{/);
  });

  test('no issues for valid or template-free values', () => {
    assert.deepEqual(templateIssues({ a: 'x', b: [1, '{{ ctx.trigger.count }}'] }), []);
    assert.deepEqual(templateIssues('plain'), []);
    assert.deepEqual(templateIssues(null), []);
  });
});

describe('templateCtxReferences', () => {
  test('unions the ctx keys of every template', () => {
    const refs = templateCtxReferences({
      to: '{{ ctx.trigger.newUser.email }}',
      body: ['{{ ctx.lookup.id }} and {{ ctx["enrich"].x }}', 'plain ctx.notatemplate'],
      filter: '{{ ctx.trigger.newUser.groups.exists(g, g == ctx.approve.group) }}',
    });
    assert.deepEqual([...refs].sort(), ['approve', 'enrich', 'lookup', 'trigger']);
  });

  test('a template exposes its own references', () => {
    assert.deepEqual([...compileTemplate('{{ ctx.a.x }}-{{ ctx.b.y }}-{{ ctx.a.z }}').ctxReferences], ['a', 'b']);
  });
});
