import { describe, expect, it } from 'vitest';
import type { Box } from '../src/domain/box.js';
import {
  BOX_PRESETS,
  formatBox,
  formatCast,
  formatDialogs,
  parseBox,
  parseCast,
  parseDialogs,
} from '../src/domain/dsl/index.js';
import { KomaError } from '../src/domain/errors.js';
import { mulberry32 } from '../src/util/prng.js';

const cast = [
  { id: 'aki', name: 'Aki' },
  { id: 'ren', name: 'Ren' },
  { id: 'old-man', name: 'Old Man' },
];

/** Seeded so property tests are repeatable. */
const prng = mulberry32;

function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KomaError);
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('box language', () => {
  it('parses presets case-insensitively', () => {
    expect(parseBox('Left')).toEqual(BOX_PRESETS.left);
    expect(parseBox(' right_third ')).toEqual(BOX_PRESETS['right-third']);
  });

  it('parses numbers in several spellings', () => {
    expect(parseBox('0.1,0.2,0.5,0.9')).toEqual([0.1, 0.2, 0.5, 0.9]);
    expect(parseBox('[0.1, 0.2, 0.5, 0.9]')).toEqual([0.1, 0.2, 0.5, 0.9]);
    expect(parseBox('0.1 0.2 0.5 0.9')).toEqual([0.1, 0.2, 0.5, 0.9]);
    expect(parseBox('10%,20%,50%,90%')).toEqual([0.1, 0.2, 0.5, 0.9]);
  });

  it('parses grid cells and spans (columns x rows, counted from 1)', () => {
    expect(parseBox('grid 3x2 r1c2')).toEqual([1 / 3, 0, 2 / 3, 0.5].map((v) => Math.round(v * 1e6) / 1e6));
    expect(parseBox('grid 2x2 r2c1')).toEqual([0, 0.5, 0.5, 1]);
    expect(parseBox('grid 4x1 r1c2-3')).toEqual([0.25, 0, 0.75, 1]);
  });

  it.each([
    ['lefft', /unknown box "lefft" \(did you mean "left"\?\)/],
    ['banana', /unknown box "banana";/],
    ['0.1,0.2,0.5', /expected 4 numbers .* got 3/],
    ['0.1,0.2,x,0.9', /number 3 \("x"\) is not a number/],
    ['0.1,0.2,1.5,0.9', /x2 = 1\.5 is outside 0\.\.1/],
    ['0.5,0.2,0.1,0.9', /inverted/],
    ['grid 3x2 r3c1', /rows run from 1 to 2/],
    ['grid 3x2 r1c4', /columns run from 1 to 3/],
    ['grid three', /write a grid cell like/],
    ['', /the box is empty/],
  ])('rejects %j with a precise message', (input, message) => {
    expect(errorMessage(() => parseBox(input))).toMatch(message);
  });

  it('round-trips presets by name', () => {
    for (const [name, box] of Object.entries(BOX_PRESETS)) {
      expect(formatBox(box)).toBe(name);
      expect(parseBox(formatBox(box))).toEqual(box);
    }
  });

  it('round-trips random boxes with up to 3 decimals', () => {
    const random = prng(42);
    for (let i = 0; i < 500; i++) {
      const a = Math.round(random() * 900) / 1000;
      const b = Math.round(random() * 900) / 1000;
      const r3 = (v: number) => Math.round(v * 1000) / 1000;
      const box: Box = [a, b, r3(Math.min(1, a + 0.02 + random() * 0.5)), r3(Math.min(1, b + 0.02 + random() * 0.5))];
      expect(parseBox(formatBox(box))).toEqual(box);
    }
  });
});

describe('dialog language', () => {
  it('parses speakers, kinds, boxes and the narrator', () => {
    const dialogs = parseDialogs("Aki: We're late! | Ren (shout): Hurry! | narrator: Meanwhile… | old man (thought) @ right-third: Hmm: odd.", cast);
    expect(dialogs).toEqual([
      { speaker: 'aki', text: "We're late!", kind: 'speech' },
      { speaker: 'ren', text: 'Hurry!', kind: 'shout' },
      { speaker: 'narrator', text: 'Meanwhile…', kind: 'narration' },
      { speaker: 'old-man', text: 'Hmm: odd.', kind: 'thought', box: BOX_PRESETS['right-third'] },
    ]);
  });

  it('keeps an escaped bar in the text', () => {
    expect(parseDialogs('Aki: a \\| b', cast)[0]!.text).toBe('a | b');
  });

  it.each([
    ['Kai: hi', /dialog 1 .*unknown character "Kai"; known characters: Aki, Ren, Old Man/],
    ['Akki: hi', /unknown character "Akki" \(did you mean "Aki"\?\)/],
    ['Aki (yell): hi', /unknown kind "yell"/],
    ['Aki hi there', /expected "Name: text"/],
    ['Aki:   ', /dialog text is empty/],
    ['Aki @ lefty: hi', /unknown box "lefty"/],
    [`Aki: ${'a'.repeat(501)}`, /dialog text is 501 characters; the limit is 500/],
  ])('rejects %j', (input, message) => {
    expect(errorMessage(() => parseDialogs(input, cast))).toMatch(message);
  });

  it('round-trips random dialogs', () => {
    const random = prng(7);
    const kinds = ['speech', 'thought', 'shout', 'whisper', 'narration'] as const;
    const words = ['late', 'run!', 'why?', 'a|b', 'tea: hot', '…', 'ok'];
    for (let i = 0; i < 200; i++) {
      const n = 1 + Math.floor(random() * 4);
      const dialogs = Array.from({ length: n }, () => {
        const speaker = random() < 0.2 ? 'narrator' : cast[Math.floor(random() * cast.length)]!.id;
        const text = Array.from({ length: 1 + Math.floor(random() * 4) }, () => words[Math.floor(random() * words.length)]).join(' ');
        const kind = kinds[Math.floor(random() * kinds.length)]!;
        const box = random() < 0.3 ? BOX_PRESETS.top : undefined;
        return { speaker, text, kind, ...(box ? { box } : {}) };
      });
      expect(parseDialogs(formatDialogs(dialogs, cast), cast)).toEqual(dialogs);
    }
  });
});

describe('cast language', () => {
  it('parses placements with @, : and numeric boxes containing commas', () => {
    expect(parseCast('Aki @ left, Ren @ 0.5,0.1,0.9,1', cast)).toEqual([
      { characterId: 'aki', box: BOX_PRESETS.left },
      { characterId: 'ren', box: [0.5, 0.1, 0.9, 1] },
    ]);
    expect(parseCast('Aki: right | Old Man: grid 2x1 r1c1', cast)).toEqual([
      { characterId: 'aki', box: BOX_PRESETS.right },
      { characterId: 'old-man', box: [0, 0, 0.5, 1] },
    ]);
  });

  it('refuses unknown and repeated characters and bad boxes', () => {
    expect(errorMessage(() => parseCast('Rem @ left', cast))).toMatch(/unknown character "Rem" \(did you mean "Ren"\?\)/);
    expect(errorMessage(() => parseCast('Aki @ left, aki @ right', cast))).toMatch(/Aki is already placed/);
    expect(errorMessage(() => parseCast('Aki left', cast))).toMatch(/expected "Name @ box"/);
    expect(errorMessage(() => parseCast('Aki @ 2,0,3,1', cast))).toMatch(/character 1 .*outside 0\.\.1/);
  });

  it('round-trips', () => {
    const placements = parseCast('Aki @ left-third, Ren @ 0.25,0.1,0.5,0.9, Old Man @ closeup', cast);
    expect(parseCast(formatCast(placements, cast), cast)).toEqual(placements);
  });
});
