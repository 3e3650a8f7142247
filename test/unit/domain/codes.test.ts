import {
  CODE_DIGITS,
  CODE_LETTERS,
  generateCode,
  isWellFormedCode,
  normaliseCode,
  uniform,
} from '../../../lambdas/domain/codes';
import { ScriptedRandom, SeededRandom } from '../../support/builders/deterministic';

const GROUP_SIZES = [3, 3, 4];
const groupsOf = (code: string) => [code.slice(0, 3), code.slice(3, 6), code.slice(6, 10)];
const allIn = (text: string, alphabet: string) => [...text].every((c) => alphabet.includes(c));

describe('generateCode', () => {
  const codes = Array.from({ length: 3000 }, (_, seed) => generateCode(new SeededRandom(seed)));

  test('every code has 10 characters in groups of 3/3/4, each group all letters or all digits', () => {
    // Act
    const misfits = codes.filter(
      (code) => code.length !== 10 || groupsOf(code).some((g) => !allIn(g, CODE_LETTERS) && !allIn(g, CODE_DIGITS)),
    );

    // Assess
    expect(misfits).toEqual([]);
    expect(codes.every(isWellFormedCode)).toBe(true);
  });

  test('both alphabets appear in every group position and every character of each alphabet is drawn', () => {
    // Act
    const letterGroups = GROUP_SIZES.map((_, i) => codes.filter((c) => allIn(groupsOf(c)[i], CODE_LETTERS)).length);
    const seen = new Set(codes.join(''));

    // Assess: a fair coin per group (3000 draws: about 1500 each way)
    for (const count of letterGroups) expect(count).toBeGreaterThan(1300);
    for (const count of letterGroups) expect(count).toBeLessThan(1700);
    expect([...CODE_LETTERS, ...CODE_DIGITS].filter((c) => !seen.has(c))).toEqual([]);
    expect([...seen].filter((c) => !CODE_LETTERS.includes(c) && !CODE_DIGITS.includes(c))).toEqual([]);
  });

  test('the same seed gives the same code; different seeds rarely collide', () => {
    // Act
    const again = generateCode(new SeededRandom(17));

    // Assess
    expect(again).toBe(codes[17]);
    expect(new Set(codes).size).toBeGreaterThan(2990);
  });
});

describe('uniform (rejection sampling)', () => {
  test.each([2, 7, 15])('n = %i: every accepted byte value maps to each residue equally often', (n) => {
    // Prepare: offer every byte value once, each followed by a 0 to end a rejection
    const limit = 256 - (256 % n);
    const counts = new Array<number>(n).fill(0);
    const rejected: Array<{ byte: number; value: number; consumed: number }> = [];

    // Act
    for (let byte = 0; byte < 256; byte += 1) {
      const random = new ScriptedRandom([byte, 0]);
      const value = uniform(random, n);
      if (random.consumed === 1) counts[value] += 1;
      else rejected.push({ byte, value, consumed: random.consumed });
    }

    // Assess: bytes below the limit are used once each; the others fall through to the next byte
    expect(counts).toEqual(new Array<number>(n).fill(limit / n));
    expect(rejected).toEqual(Array.from({ length: 256 - limit }, (_, i) => ({ byte: limit + i, value: 0, consumed: 2 })));
  });

  test('bytes at or above the limit are rejected and the next byte is used', () => {
    // Prepare: for 15 the limit is 255; for 7 it is 252
    const random15 = new ScriptedRandom([255, 255, 254]);
    const random7 = new ScriptedRandom([252, 253, 254, 255, 251]);

    // Act
    const v15 = uniform(random15, 15);
    const v7 = uniform(random7, 7);

    // Assess
    expect({ v15, consumed: random15.consumed }).toEqual({ v15: 254 % 15, consumed: 3 });
    expect({ v7, consumed: random7.consumed }).toEqual({ v7: 251 % 7, consumed: 5 });
  });

  test('a long seeded run is close to uniform for the 15 letters', () => {
    // Prepare
    const random = new SeededRandom('uniform');
    const counts = new Array<number>(15).fill(0);

    // Act
    for (let i = 0; i < 30_000; i += 1) counts[uniform(random, 15)] += 1;

    // Assess: expected 2000 each (the exhaustive test above is the one that catches a modulo bias)
    for (const count of counts) expect(Math.abs(count - 2000)).toBeLessThan(200);
  });
});

describe('normaliseCode', () => {
  test.each([
    ['aef-245 xyzw', 'AEF245XYZW'],
    ['AEF 245 XYZW', 'AEF245XYZW'],
    ['--a e f--2-4-5 x y z w ', 'AEF245XYZW'],
    ['', ''],
  ])('%j → %j', (raw, expected) => {
    // Act
    const normalised = normaliseCode(raw);

    // Assess
    expect(normalised).toBe(expected);
  });

  test('only spaces and dashes are removed: tabs, newlines and other separators stay', () => {
    // Act
    const normalised = ['AEF\t245XYZW', 'AEF245XYZW\n', 'AEF_245XYZW'].map(normaliseCode);

    // Assess
    expect(normalised).toEqual(['AEF\t245XYZW', 'AEF245XYZW\n', 'AEF_245XYZW']);
    expect(normalised.some(isWellFormedCode)).toBe(false);
  });
});

describe('isWellFormedCode', () => {
  test.each(['AEF245XYZW', '245AEF2456', 'XYZWQLXYZW', '2456789245', '777QQQ7777'])('%s is well formed', (code) => {
    // Act / Assess
    expect(isWellFormedCode(code)).toBe(true);
  });

  test.each([
    ['mixed group', 'AE2245XYZW'],
    ['group boundary shifted (4/3/3)', 'AEFH245XYZ'],
    ['11 characters', 'AEF2456XYZW'],
    ['9 characters', 'AEF245XYZ'],
    ['letter outside the alphabet (B)', 'BEF245XYZW'],
    ['digit outside the alphabet (0)', 'AEF240XYZW'],
    ['digit outside the alphabet (3)', 'AEF243XYZW'],
    ['lower case (normalise first)', 'aef245xyzw'],
    ['dashes (normalise first)', 'AEF-245-XYZW'],
    ['empty', ''],
  ])('%s: %j is not', (_why, code) => {
    // Act / Assess
    expect(isWellFormedCode(code)).toBe(false);
  });
});
