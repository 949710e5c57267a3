/**
 * The functions and constants idflow adds to CEL, at their edges: Go layouts token by token,
 * DST in America/New_York, leap years and month ends, IPv6, field-name aliases, and the errors
 * bad input gets. docs/cel.md's reference table (test/cel-reference.test.ts) covers the common cases.
 */
import type { JsonObject } from '../core/json.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { camelCaseOf, compile, evaluateExpression, snakeCaseOf, withFieldAliases, type CelVariables } from '../cel/index.js';
import { assertCelError } from './helpers/cel.js';

/** A Sunday afternoon, 123 ms past the minute: 2026-03-08 is the day New York moves to EDT (at 07:00Z). */
const NOW = new Date('2026-03-08T15:30:00.123Z');
const evaluate = (expression: string, vars: CelVariables = {}) => evaluateExpression(expression, vars, { now: NOW });
const NY = '"America/New_York"';

/** Each [expression, expected JSON result] as its own test. */
function table(cases: readonly (readonly [string, unknown])[], vars?: CelVariables): void {
  for (const [expression, expected] of cases) {
    test(expression, () => assert.deepEqual(evaluate(expression, vars), expected));
  }
}

describe('timestamp and duration arithmetic', () => {
  table([
    ['timestamp("2026-03-09T00:00:00Z") - timestamp("2026-03-08T00:00:00Z")', '86400s'],
    ['timestamp("2026-03-08T00:00:00Z") - timestamp("2026-03-09T00:00:00Z")', '-86400s'],
    ['timestamp("2026-03-08T00:00:00Z") - timestamp("2026-03-09T00:00:00Z") < duration("0s")', true],
    ['now() - duration("720h")', '2026-02-06T15:30:00.123Z'],
    ['now() + duration("1.5s")', '2026-03-08T15:30:01.623Z'],
    ['duration("90m") + now()', '2026-03-08T17:00:00.123Z'],
    ['duration("1h") + duration("30m") == duration("90m")', true],
    ['duration("1h") - duration("2h")', '-3600s'],
    ['duration("720h") > duration("719h59m59s")', true],
    ['now() - timestamp("2026-01-01T00:00:00Z") >= duration("1599h")', true],
    ['(now() - timestamp("2026-03-08T00:00:00Z")).getHours()', 15],
    ['timestamp("2024-02-28T12:00:00Z") + duration("24h")', '2024-02-29T12:00:00Z'],
    ['timestamp("2023-02-28T12:00:00Z") + duration("24h")', '2023-03-01T12:00:00Z'],
    ['timestamp("2026-01-31T23:00:00Z") + duration("1h")', '2026-02-01T00:00:00Z'],
  ]);
});

describe('time.format: Go layouts', () => {
  // 2026-03-08T15:30:00.123Z is a Sunday, the 67th day of the year.
  table([
    ['time.format(now(), "2006 06 01 1 Jan January 02 2 _2 002 __2")', '2026 26 03 3 Mar March 08 8  8 067  67'],
    ['time.format(now(), "15 03 3 04 4 05 5 PM pm Mon Monday")', '15 03 3 30 30 00 0 PM pm Sun Sunday'],
    ['time.format(now(), ".000 .0 .000000 .999 .9 ,000")', '.123 .1 .123000 .123 .1 ,123'],
    ['time.format(timestamp("2026-03-08T15:30:00Z"), "05.999|05.000")', '00|00.000'],
    ['time.format(now(), "MST Z07:00 Z0700 Z07 -07:00 -0700 -07")', 'UTC Z Z Z +00:00 +0000 +00'],
    ['time.format(now(), TimeFormat.RFC3339)', '2026-03-08T15:30:00Z'],
    ['time.format(now(), TimeFormat.DATETIME)', '2026-03-08 15:30:00'],
    ['time.format(now(), TimeFormat.TIME)', '15:30:00'],
    ['time.format(now(), TimeFormat.KITCHEN)', '3:30PM'],
    // Letters that are not tokens stay text, as in Go: "Month" and "Janet" are not Mon and Jan.
    ['time.format(now(), "Month Janet at 3pm, day 2")', 'Month Janet at 3pm, day 8'],
    ['time.format(now(), "")', ''],
    ['time.format(timestamp("2026-03-08T00:05:00Z"), "3:04 PM, 15h")', '12:05 AM, 00h'],
    ['time.format(timestamp("2026-03-08T12:00:00Z"), "3 PM")', '12 PM'],
    ['time.format(timestamp("0099-01-05T00:00:00Z"), "2006 06")', '0099 99'],
  ]);
});

describe("time.format in a zone, across New York's DST changes", () => {
  table([
    // Spring forward, 2026-03-08 at 02:00 EST (07:00Z): 01:59 EST is followed by 03:00 EDT.
    [`time.format(timestamp("2026-03-08T06:59:00Z"), "2006-01-02 15:04 MST -07:00", ${NY})`, '2026-03-08 01:59 EST -05:00'],
    [`time.format(timestamp("2026-03-08T07:00:00Z"), "2006-01-02 15:04 MST -07:00", ${NY})`, '2026-03-08 03:00 EDT -04:00'],
    // Fall back, 2026-11-01 at 02:00 EDT (06:00Z): 01:30 happens twice.
    [`time.format(timestamp("2026-11-01T05:30:00Z"), "15:04 MST Z07:00", ${NY})`, '01:30 EDT -04:00'],
    [`time.format(timestamp("2026-11-01T06:30:00Z"), "15:04 MST Z07:00", ${NY})`, '01:30 EST -05:00'],
    // The date changes with the zone.
    [`time.format(timestamp("2026-03-01T03:00:00Z"), "Monday January 2", ${NY})`, 'Saturday February 28'],
    ['time.format(now(), "Mon 2 15:04", "Asia/Tokyo")', 'Mon 9 00:30'],
    // Half- and quarter-hour zones; MST falls back to a numeric abbreviation where Intl has none in English.
    ['time.format(now(), "15:04 MST -07:00", "Asia/Kolkata")', '21:00 IST +05:30'],
    ['time.format(now(), "15:04 MST Z0700", "Asia/Kathmandu")', '21:15 +0545 +0545'],
    ['time.format(now(), "MST", "Europe/Paris")', 'CET'],
    ['time.format(timestamp("2026-07-01T00:00:00Z"), "MST", "Europe/London")', 'BST'],
    ['time.format(now(), "MST", "America/Sao_Paulo")', '-03'],
    ['time.format(now(), "MST", "Asia/Kolkata")', 'IST'],
    ['time.format(now(), "MST", "Asia/Shanghai")', '+08'],
    ['time.format(now(), "15:04 MST", "UTC")', '15:30 UTC'],
  ]);
});

describe('time.parse', () => {
  table([
    ['time.parse("2026-03-12", TimeFormat.DATE)', '2026-03-12T00:00:00Z'],
    ['time.parse("2026-03-12 08:15:00", TimeFormat.DATETIME)', '2026-03-12T08:15:00Z'],
    ['time.parse("2026-03-12T08:15:00Z", TimeFormat.RFC3339)', '2026-03-12T08:15:00Z'],
    ['time.parse("2026-03-12T08:15:00-05:00", TimeFormat.RFC3339)', '2026-03-12T13:15:00Z'],
    // As Go, seconds may carry a fraction the layout does not show; beyond milliseconds it is cut.
    ['time.parse("2026-03-12T08:15:00.5Z", TimeFormat.RFC3339)', '2026-03-12T08:15:00.500Z'],
    ['time.parse("2026-03-12T08:15:00,123456789+01:00", TimeFormat.RFC3339)', '2026-03-12T07:15:00.123Z'],
    ['time.parse("08:15:00.250", "15:04:05.000")', '1970-01-01T08:15:00.250Z'],
    ['time.parse("08:15:00", "15:04:05.999")', '1970-01-01T08:15:00Z'],
    ['time.parse("3:04PM", TimeFormat.KITCHEN)', '1970-01-01T15:04:00Z'],
    ['time.parse("12:30 AM", "3:04 PM")', '1970-01-01T00:30:00Z'],
    ['time.parse("12:30 PM", "3:04 PM")', '1970-01-01T12:30:00Z'],
    ['time.parse("Thursday, MARCH 12 2026", "Monday, January 2 2006")', '2026-03-12T00:00:00Z'],
    ['time.parse("12 mar 26", "2 Jan 06")', '2026-03-12T00:00:00Z'],
    // Go's two-digit years: 69-99 are 19xx, 00-68 are 20xx.
    ['time.parse("68", "06")', '2068-01-01T00:00:00Z'],
    ['time.parse("69", "06")', '1969-01-01T00:00:00Z'],
    ['time.parse("Mar  8 2026", "Jan _2 2006")', '2026-03-08T00:00:00Z'],
    // A run of spaces in the layout matches a run of spaces in the text.
    ['time.parse("2026-03-08    10:00", "2006-01-02 15:04")', '2026-03-08T10:00:00Z'],
    ['time.parse("2026-067", "2006-002")', '2026-03-08T00:00:00Z'],
    ['time.parse("20260308T101500+0100", "20060102T150405-0700")', '2026-03-08T09:15:00Z'],
    ['time.parse("2026-03-08 10:00 UTC", "2006-01-02 15:04 MST")', '2026-03-08T10:00:00Z'],
    ['time.parse("2026-03-08 10:00 +0530", "2006-01-02 15:04 MST")', '2026-03-08T04:30:00Z'],
    // Years 0001-0099 are themselves, not 19xx.
    ['time.parse("0026-01-01", TimeFormat.DATE)', '0026-01-01T00:00:00Z'],
  ]);
});

describe('time.parse in a zone', () => {
  table([
    [`time.parse("2026-03-12", TimeFormat.DATE, ${NY})`, '2026-03-12T04:00:00Z'],
    [`time.parse("2026-01-12", TimeFormat.DATE, ${NY})`, '2026-01-12T05:00:00Z'],
    // An offset in the text wins over the zone.
    [`time.parse("2026-03-12T08:00:00+01:00", TimeFormat.RFC3339, ${NY})`, '2026-03-12T07:00:00Z'],
    // 02:30 does not exist on 2026-03-08 in New York: it resolves forward to 03:30 EDT.
    [`time.parse("2026-03-08 02:30:00", TimeFormat.DATETIME, ${NY})`, '2026-03-08T07:30:00Z'],
    // 01:30 happens twice on 2026-11-01: the earlier (EDT), unless the abbreviation says which.
    [`time.parse("2026-11-01 01:30:00", TimeFormat.DATETIME, ${NY})`, '2026-11-01T05:30:00Z'],
    [`time.parse("2026-11-01 01:30 EDT", "2006-01-02 15:04 MST", ${NY})`, '2026-11-01T05:30:00Z'],
    [`time.parse("2026-11-01 01:30 EST", "2006-01-02 15:04 MST", ${NY})`, '2026-11-01T06:30:00Z'],
    ['time.parse("2026-03-08 09:00", "2006-01-02 15:04", "Asia/Kolkata")', '2026-03-08T03:30:00Z'],
  ]);

  test('format then parse gives the same instant back', () => {
    const instants = [
      '2026-03-08T06:59:00Z',
      '2026-03-08T07:00:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-01T06:30:00Z',
      '2024-02-29T23:59:59.999Z',
    ];
    const layouts = ['2006-01-02T15:04:05.000Z07:00', '2006-01-02 15:04:05.000 MST', 'Monday, 02-Jan-06 15:04:05.000 -0700'];
    for (const instant of instants) {
      for (const layout of layouts) {
        const expression = `time.parse(time.format(timestamp("${instant}"), "${layout}", ${NY}), "${layout}", ${NY}) == timestamp("${instant}")`;
        assert.equal(evaluate(expression), true, expression);
      }
    }
  });
});

describe('time.start_of', () => {
  table([
    // Midnight in New York on the day clocks spring forward is still 05:00Z (EST)...
    [`time.start_of(now(), "day", ${NY})`, '2026-03-08T05:00:00Z'],
    // ...and that day lasts 23 hours; the fall-back day lasts 25.
    [`time.start_of(timestamp("2026-03-09T12:00:00Z"), "day", ${NY}) - time.start_of(now(), "day", ${NY})`, '82800s'],
    [
      `time.start_of(timestamp("2026-11-02T12:00:00Z"), "day", ${NY}) - time.start_of(timestamp("2026-11-01T12:00:00Z"), "day", ${NY})`,
      '90000s',
    ],
    // Just after midnight UTC it is still the previous day in New York.
    [`time.start_of(timestamp("2026-03-08T03:00:00Z"), "day", ${NY})`, '2026-03-07T05:00:00Z'],
    // A day that starts at 01:00: Chile moved its clocks from 00:00 to 01:00 on 2024-09-08.
    ['time.start_of(timestamp("2024-09-08T12:00:00Z"), "day", "America/Santiago")', '2024-09-08T04:00:00Z'],
    ['time.start_of(now(), "day")', '2026-03-08T00:00:00Z'],
    ['time.start_of(now(), "day", "Asia/Tokyo")', '2026-03-08T15:00:00Z'],
    // Weeks start on Monday: a Sunday belongs to the week of the Monday before.
    ['time.start_of(now(), "week")', '2026-03-02T00:00:00Z'],
    ['time.start_of(timestamp("2026-03-09T00:00:00Z"), "week")', '2026-03-09T00:00:00Z'],
    ['time.start_of(now(), "week", "Asia/Tokyo")', '2026-03-08T15:00:00Z'],
    [`time.start_of(timestamp("2026-03-10T12:00:00Z"), "week", ${NY})`, '2026-03-09T04:00:00Z'],
    // Across a year end: 2026-01-01 is a Thursday.
    ['time.start_of(timestamp("2026-01-01T12:00:00Z"), "week")', '2025-12-29T00:00:00Z'],
    ['time.start_of(timestamp("2024-02-29T23:59:59Z"), "month")', '2024-02-01T00:00:00Z'],
    ['time.start_of(timestamp("2026-01-31T23:59:59Z"), "month")', '2026-01-01T00:00:00Z'],
    // 03:00Z on March 1st is still February in New York; February started in EST.
    [`time.start_of(timestamp("2026-03-01T03:00:00Z"), "month", ${NY})`, '2026-02-01T05:00:00Z'],
    [`time.start_of(timestamp("2026-04-15T12:00:00Z"), "month", ${NY})`, '2026-04-01T04:00:00Z'],
    ['time.start_of(now(), "month", "Pacific/Kiritimati")', '2026-02-28T10:00:00Z'],
  ]);
});

describe('leap years and month ends', () => {
  table([
    ['time.parse("2024-02-29", TimeFormat.DATE)', '2024-02-29T00:00:00Z'],
    ['time.parse("2000-02-29", TimeFormat.DATE)', '2000-02-29T00:00:00Z'],
    ['time.parse("2024-366", "2006-002")', '2024-12-31T00:00:00Z'],
    ['time.format(timestamp("2024-12-31T00:00:00Z"), "002")', '366'],
    ['time.parse("2026-04-30", TimeFormat.DATE) + duration("24h")', '2026-05-01T00:00:00Z'],
    ['time.format(time.start_of(timestamp("2028-03-01T00:00:00Z"), "day") - duration("24h"), "January 2")', 'February 29'],
  ]);

  test('a day a month does not have is an error that says how many it has', () => {
    assertCelError(
      () => evaluate('time.parse("2023-02-29", TimeFormat.DATE)'),
      'evaluation',
      /"2023-02-29" is not a real date/,
      /February 2023 has 28 days, not 29/,
    );
    assertCelError(() => evaluate('time.parse("1900-02-29", TimeFormat.DATE)'), 'evaluation', /February 1900 has 28 days/);
    assertCelError(() => evaluate('time.parse("2026-04-31", TimeFormat.DATE)'), 'evaluation', /April 2026 has 30 days, not 31/);
    assertCelError(
      () => evaluate('time.parse("2026-365", "2006-002") == time.parse("2026-366", "2006-002")'),
      'evaluation',
      /day 366 of the year: 2026 has 365 days/,
    );
  });
});

describe('time errors name the bad value', () => {
  const cases: [string, ...RegExp[]][] = [
    ['time.format(now(), "15", "Mars/Base")', /unknown time zone "Mars\/Base"/, /IANA/],
    ['time.parse("2026-03-08", TimeFormat.DATE, "Mars/Base")', /unknown time zone "Mars\/Base"/],
    ['time.start_of(now(), "day", "Europe/Pariss")', /unknown time zone "Europe\/Pariss"/],
    ['time.start_of(now(), "year")', /unknown unit "year"/, /"day", "week", "month"/],
    ['time.start_of(now(), "Day")', /unknown unit "Day"/],
    [
      'time.parse("yesterday", TimeFormat.DATE)',
      /"yesterday" does not match the layout "2006-01-02"/,
      /expected a four-digit year at "yesterday"/,
    ],
    ['time.parse("2026-3-8", TimeFormat.DATE)', /expected a two-digit month at "3-8"/],
    ['time.parse("2026-03-08 10:00", TimeFormat.DATE)', /expected the end of the text at " 10:00"/],
    ['time.parse("2026-03-08", TimeFormat.DATETIME)', /expected an hour \(0-23\) at its end/],
    ['time.parse("2026-03-08T10:00:00", TimeFormat.RFC3339)', /expected Z or an offset \(\+01:00\) at its end/],
    ['time.parse("2026-13-01", TimeFormat.DATE)', /month 13 does not exist/],
    ['time.parse("24:00", "15:04")', /hour 24 does not exist/],
    ['time.parse("10:60", "15:04")', /minute 60 does not exist/],
    ['time.parse("13 PM", "3 PM")', /expected an hour \(0-12\) at "13 PM"/],
    ['time.parse("0000-01-01", TimeFormat.DATE)', /year 0 is outside CEL's timestamps/],
    ['time.parse("08:15:00.25", "15:04:05.000")', /expected "\." and 3 digits at "\.25"/],
    [
      'time.parse("2026-03-08 09:00 PST", "2006-01-02 15:04 MST", "America/New_York")',
      /zone "PST" .* is not what clocks in America\/New_York showed then/,
    ],
  ];
  for (const [expression, ...patterns] of cases) {
    test(expression, () => {
      assertCelError(() => evaluate(expression), 'evaluation', ...patterns);
    });
  }

  test('wrong argument types and unknown members are refused at apply time', () => {
    assertCelError(() => compile('time.format(now(), 15)'), 'type', /no matching overload/);
    assertCelError(() => compile('time.start_of("2026-03-08", "day")'), 'type', /no matching overload/);
    assertCelError(() => compile('time.formatt(now(), "15")'), 'type', /formatt/);
    assertCelError(() => compile('TimeFormat.DATEE'), 'type', /No such key: DATEE/, /not a field of that type/);
    assertCelError(() => compile('UserStatus.DISABLD'), 'type', /No such key: DISABLD/);
  });
});

describe('directory constants', () => {
  table(
    [
      ['UserStatus.ENABLED', 'ENABLED'],
      ['UserStatus.DISABLED', 'DISABLED'],
      ['UserStatus.DELETED', 'DELETED'],
      ['subject.status == UserStatus.DISABLED', true],
      ['subject.status in [UserStatus.DISABLED, UserStatus.DELETED]', true],
      ['APP_USER_STATUS_ENABLED', 'APP_USER_STATUS_ENABLED'],
      ['APP_USER_STATUS_DISABLED', 'APP_USER_STATUS_DISABLED'],
      ['APP_USER_STATUS_DELETED', 'APP_USER_STATUS_DELETED'],
      ['subject.account.status != APP_USER_STATUS_ENABLED', true],
      ['UserStatus', { ENABLED: 'ENABLED', DISABLED: 'DISABLED', DELETED: 'DELETED' }],
      ['TimeFormat.DATE', '2006-01-02'],
      ['TimeFormat.RFC3339', '2006-01-02T15:04:05Z07:00'],
    ],
    { subject: { status: 'DISABLED', account: { status: 'APP_USER_STATUS_DELETED' } } },
  );

  test('the constants are typed, so comparisons with them type-check as strings', () => {
    assert.equal(compile('UserStatus.ENABLED').resultType, 'string');
    assert.equal(compile('APP_USER_STATUS_DELETED').resultType, 'string');
    assertCelError(() => compile('UserStatus.ENABLED + 1'), 'type', /no such overload/);
  });
});

describe('ip and cidr', () => {
  table([
    ['ip("10.1.2.5").within(cidr("10.1.2.0/24"))', true],
    ['ip("10.1.3.5").within(cidr("10.1.2.0/24"))', false],
    ['cidr("10.1.2.0/24").contains(ip("10.1.2.255"))', true],
    ['cidr("10.1.2.0/24").contains(ip("10.1.3.0"))', false],
    ['cidr("0.0.0.0/0").contains(ip("203.0.113.9"))', true],
    ['cidr("203.0.113.9/32").contains(ip("203.0.113.9"))', true],
    ['cidr("203.0.113.9/32").contains(ip("203.0.113.8"))', false],
    // Host bits in a range are ignored for containment and kept in its text.
    ['cidr("10.1.2.77/24").contains(ip("10.1.2.1"))', true],
    ['string(cidr("10.1.2.77/24"))', '10.1.2.77/24'],
    ['cidr("10.0.0.0/8").contains(cidr("10.1.0.0/16"))', true],
    ['cidr("10.1.0.0/16").contains(cidr("10.0.0.0/8"))', false],
    // IPv6.
    ['ip("2001:db8:85a3::8a2e:370:7334").within(cidr("2001:db8::/32"))', true],
    ['ip("2001:db9::1").within(cidr("2001:db8::/32"))', false],
    ['cidr("::/0").contains(ip("::1"))', true],
    ['cidr("2001:db8::/127").contains(ip("2001:db8::1"))', true],
    ['cidr("2001:db8::/128").contains(ip("2001:db8::1"))', false],
    // An IPv4 address is never in an IPv6 range, nor the reverse, IPv4-mapped included (as Go's netip).
    ['cidr("::/0").contains(ip("10.1.2.5"))', false],
    ['cidr("0.0.0.0/0").contains(ip("::ffff:10.1.2.5"))', false],
    ['ip("::ffff:10.1.2.5").within(cidr("::ffff:10.0.0.0/104"))', true],
    // Predicates, as methods and as fields.
    ['ip("10.1.2.5").is4()', true],
    ['ip("10.1.2.5").is4', true],
    ['ip("2001:db8::1").is6()', true],
    ['ip("::ffff:10.1.2.5").is4()', false],
    ['ip("127.0.0.1").isLoopback()', true],
    ['ip("::1").isLoopback', true],
    ['ip("::2").isLoopback()', false],
    ['ip("10.1.2.5").isPrivate == ip("10.1.2.5").isPrivate()', true],
    // Equality compares addresses, not spellings.
    ['ip("2001:DB8::1") == ip("2001:db8:0:0:0:0:0:1")', true],
    ['ip("10.0.0.1") != ip("10.0.0.2")', true],
    ['ip("::ffff:10.0.0.1") == ip("10.0.0.1")', false],
    ['cidr("10.0.0.0/8") == cidr("10.0.0.0/8")', true],
    ['cidr("10.0.0.0/8") == cidr("10.0.0.0/9")', false],
    ['type(ip("10.0.0.1"))', 'net.IP'],
    ['type(cidr("10.0.0.0/8"))', 'net.CIDR'],
    // As JSON (templates), an address is its canonical text.
    ['ip("2001:0DB8::0001")', '2001:db8::1'],
    ['[ip("10.0.0.1"), cidr("fd00::/8")]', ['10.0.0.1', 'fd00::/8']],
  ]);

  describe('isPrivate: RFC 1918 and unique local fc00::/7, and nothing else', () => {
    const cases: [string, boolean][] = [
      ['10.0.0.0', true],
      ['10.255.255.255', true],
      ['9.255.255.255', false],
      ['11.0.0.0', false],
      ['172.15.255.255', false],
      ['172.16.0.0', true],
      ['172.31.255.255', true],
      ['172.32.0.0', false],
      ['192.168.0.1', true],
      ['192.169.0.1', false],
      ['100.64.0.1', false], // carrier-grade NAT is shared, not private
      ['169.254.1.1', false], // link-local
      ['127.0.0.1', false], // loopback
      ['8.8.8.8', false],
      ['fc00::1', true],
      ['fdff:ffff::1', true],
      ['fbff::1', false],
      ['fe00::1', false],
      ['fe80::1', false], // link-local
      ['::1', false],
      ['2001:db8::1', false],
      ['::ffff:192.168.1.1', true], // IPv4-mapped, as Go's IsPrivate
      ['::ffff:8.8.8.8', false],
    ];
    for (const [address, expected] of cases) {
      test(`${address} → ${expected}`, () => {
        assert.equal(evaluate(`ip("${address}").isPrivate()`), expected);
        assert.equal(evaluate(`ip("${address}").isPrivate`), expected);
      });
    }
  });

  describe('string() is canonical (RFC 5952 for IPv6)', () => {
    const cases: [string, string][] = [
      ['10.1.2.5', '10.1.2.5'],
      ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // of two equal runs, the first
      ['2001:db8:0:0:0:1:0:0', '2001:db8::1:0:0'], // the longest run
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1::', '1::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:0201', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [input, expected] of cases) {
      test(`${input} → ${expected}`, () => assert.equal(evaluate(`string(ip("${input}"))`), expected));
    }
    test('cidr', () => assert.equal(evaluate('string(cidr("2001:DB8:0::/32"))'), '2001:db8::/32'));
  });

  describe('an invalid address or range is an error that names it', () => {
    const addresses = [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.-4',
      ' 1.2.3.4',
      '',
      'localhost',
      '::1::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      'g::1',
      ':1',
      '1:',
      '::1.2.3',
      '1::2::3',
    ];
    for (const address of addresses) {
      test(`ip("${address}")`, () => {
        const quoted = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        assertCelError(
          () => evaluate(`ip("${address}")`),
          'evaluation',
          new RegExp(`ip: "${quoted}" is not an IPv4 \\(10\\.1\\.2\\.5\\) or IPv6`),
        );
      });
    }
    test('hints for a range and a zone id', () => {
      assertCelError(() => evaluate('ip("10.0.0.0/8")'), 'evaluation', /a range\? use cidr\(\)/);
      assertCelError(() => evaluate('ip("fe80::1%eth0")'), 'evaluation', /zone ids such as %eth0 are not supported/);
    });
    const ranges: [string, RegExp][] = [
      ['10.0.0.0', /cidr: "10\.0\.0\.0" is not a range such as 10\.1\.2\.0\/24/],
      ['10.0.0.0/', /cidr: "10\.0\.0\.0\/" is not a range/],
      ['10.0.0.0/08', /cidr: "10\.0\.0\.0\/08" is not a range/],
      ['10.0.0.0/-1', /is not a range/],
      ['10.0.0/8', /cidr: "10\.0\.0\/8" is not a range/],
      ['10.0.0.0/33', /cidr: "10\.0\.0\.0\/33" has a prefix longer than 32 bits/],
      ['::/129', /cidr: "::\/129" has a prefix longer than 128 bits/],
    ];
    for (const [range, pattern] of ranges) {
      test(`cidr("${range}")`, () => {
        assertCelError(() => evaluate(`cidr("${range}")`), 'evaluation', pattern);
      });
    }
    test('wrong argument types are refused at apply time', () => {
      assertCelError(() => compile('ip(10)'), 'type', /no matching overload/);
      assertCelError(() => compile('ip("10.0.0.1").within("10.0.0.0/8")'), 'type', /no matching overload/);
      assertCelError(() => compile('ip("10.0.0.1").isPublic'), 'type', /No such key: isPublic/);
    });
  });
});

describe('field-name aliases', () => {
  test('snakeCaseOf and camelCaseOf', () => {
    assert.equal(snakeCaseOf('firstName'), 'first_name');
    assert.equal(snakeCaseOf('employmentType'), 'employment_type');
    assert.equal(snakeCaseOf('managerID'), 'manager_id');
    assert.equal(snakeCaseOf('userHTTPProxy'), 'user_http_proxy');
    assert.equal(snakeCaseOf('address2Line'), 'address2_line');
    assert.equal(snakeCaseOf('email'), undefined);
    assert.equal(snakeCaseOf('FirstName'), undefined);
    assert.equal(snakeCaseOf('first_name'), undefined);
    assert.equal(camelCaseOf('first_name'), 'firstName');
    assert.equal(camelCaseOf('address2_line'), 'address2Line');
    assert.equal(camelCaseOf('email'), undefined);
    assert.equal(camelCaseOf('_id'), undefined);
    assert.equal(camelCaseOf('cost-center'), undefined);
    assert.equal(camelCaseOf('a__b'), undefined);
    assert.equal(camelCaseOf('First_name'), undefined);
  });

  test('every nested object gets both spellings; arrays are aliased element by element', () => {
    const input: JsonObject = {
      newUser: { firstName: 'Ada', employment_type: 'CONTRACTOR', attributes: { costCenter: 'C-1', 'cost-center': 'x' } },
      groups: [{ displayName: 'Admins' }, 'plain'],
    };
    assert.deepEqual(withFieldAliases(input), {
      newUser: {
        firstName: 'Ada',
        employment_type: 'CONTRACTOR',
        attributes: { costCenter: 'C-1', 'cost-center': 'x', cost_center: 'C-1' },
        first_name: 'Ada',
        employmentType: 'CONTRACTOR',
      },
      groups: [{ displayName: 'Admins', display_name: 'Admins' }, 'plain'],
      new_user: {
        firstName: 'Ada',
        employment_type: 'CONTRACTOR',
        attributes: { costCenter: 'C-1', 'cost-center': 'x', cost_center: 'C-1' },
        first_name: 'Ada',
        employmentType: 'CONTRACTOR',
      },
    });
  });

  test('existing keys win; the first of two keys with the same alias wins', () => {
    assert.deepEqual(withFieldAliases({ firstName: 'A', first_name: 'B' }), { firstName: 'A', first_name: 'B' });
    assert.deepEqual(withFieldAliases({ managerId: 'a', managerID: 'b' }), { managerId: 'a', managerID: 'b', manager_id: 'a' });
  });

  test('the input is not modified, and plain values pass through', () => {
    const input: JsonObject = { newUser: { firstName: 'Ada' } };
    const frozen = JSON.stringify(input);
    withFieldAliases(input);
    assert.equal(JSON.stringify(input), frozen);
    assert.equal(withFieldAliases('firstName'), 'firstName');
    assert.equal(withFieldAliases(null), null);
    assert.deepEqual(withFieldAliases([1, 'a']), [1, 'a']);
  });

  test('a "__proto__" key stays data', () => {
    const out = withFieldAliases(JSON.parse('{"__proto__": {"isAdmin": true}}') as JsonObject);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__']);
  });

  test('both spellings resolve in CEL, and survive a JSON round trip (Temporal payloads)', () => {
    const trigger = withFieldAliases({ newUser: { firstName: 'Ada', employmentType: 'CONTRACTOR' } });
    const subject = trigger.newUser as JsonObject;
    const vars = JSON.parse(JSON.stringify({ ctx: { trigger }, subject })) as CelVariables;
    assert.equal(evaluate('subject.first_name == subject.firstName', vars), true);
    assert.equal(evaluate('ctx.trigger.new_user.employment_type', vars), 'CONTRACTOR');
    assert.equal(evaluate('ctx.trigger.newUser.employment_type == ctx.trigger.new_user.employmentType', vars), true);
  });
});
