import { describe, expect, it } from 'vitest';
import { BoxSchema, boxProblem, boxToPixels } from '../src/domain/box.js';
import { CharacterSchema, DialogSchema, PanelSchema, StorySchema, slugify } from '../src/domain/model.js';
import { formatZodError } from '../src/domain/zod-errors.js';

const stamp = { version: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };

function panel(overrides: Record<string, unknown> = {}) {
  return { id: 'p1', storyId: 's1', index: 0, prompt: 'a rainy street', seed: 7, ...stamp, ...overrides };
}

function errorOf(result: { success: boolean; error?: unknown }): string {
  expect(result.success).toBe(false);
  return formatZodError(result.error as never);
}

describe('boxes', () => {
  it('accepts a normal box and returns a 4-tuple', () => {
    expect(BoxSchema.parse([0.1, 0.2, 0.5, 0.9])).toEqual([0.1, 0.2, 0.5, 0.9]);
  });

  it.each([
    [[0.5, 0.2, 0.3, 0.9], /inverted: x2 \(0\.3\) is left of x1 \(0\.5\)/],
    [[0.1, 0.9, 0.5, 0.2], /inverted: y2 \(0\.2\) is above y1 \(0\.9\)/],
    [[0.1, 0.2, 1.5, 0.9], /x2 = 1\.5 is outside 0\.\.1/],
    [[-0.1, 0.2, 0.5, 0.9], /x1 = -0\.1 is outside 0\.\.1/],
    [[0.1, Number.NaN, 0.5, 0.9], /y1 is not a finite number/],
    [[0.3, 0.3, 0.3, 0.9], /zero area/],
    [[0.1, 0.2, 0.5], /exactly 4 numbers/],
  ])('rejects %j with a message naming the box', (box, message) => {
    const problem = boxProblem(box);
    expect(problem).toMatch(message);
    expect(problem).toContain('[');
    expect(BoxSchema.safeParse(box).success).toBe(false);
  });

  it('names the path of a bad box inside a panel', () => {
    const result = PanelSchema.safeParse(panel({ characters: [{ characterId: 'aki', box: [0.6, 0, 0.2, 1] }] }));
    expect(errorOf(result)).toMatch(/^characters\[0\]\.box: box \[0\.6, 0, 0\.2, 1\] is inverted/);
  });

  it('converts to whole pixels covering the box', () => {
    expect(boxToPixels([0.1, 0.25, 0.55, 1], 100, 40)).toEqual({ left: 10, top: 10, width: 45, height: 30 });
  });
});

describe('panel schema', () => {
  it('fills defaults', () => {
    const parsed = PanelSchema.parse(panel());
    expect(parsed.characters).toEqual([]);
    expect(parsed.dialogs).toEqual([]);
    expect(parsed.negativePrompt).toBe('');
  });

  it('refuses a 4000-character prompt with the length and the limit', () => {
    const message = errorOf(PanelSchema.safeParse(panel({ prompt: 'x'.repeat(4000) })));
    expect(message).toBe('prompt: prompt is 4000 characters; the limit is 1000');
  });

  it('refuses the same character placed twice', () => {
    const box = [0, 0, 0.5, 1];
    const message = errorOf(
      PanelSchema.safeParse(panel({ characters: [{ characterId: 'aki', box }, { characterId: 'aki', box }] })),
    );
    expect(message).toMatch(/characters\[1\]\.characterId: character "aki" is placed twice/);
  });

  it('refuses a chosen variant that does not exist', () => {
    expect(errorOf(PanelSchema.safeParse(panel({ chosenVariant: 0 })))).toMatch(/chosenVariant: variant 1 does not exist/);
  });

  it('refuses a seed outside 32 bits', () => {
    expect(PanelSchema.safeParse(panel({ seed: 2 ** 32 })).success).toBe(false);
  });
});

describe('dialogs, characters, stories', () => {
  it('defaults dialog kind to speech and accepts the narrator', () => {
    expect(DialogSchema.parse({ speaker: 'narrator', text: 'Meanwhile' }).kind).toBe('speech');
  });

  it('rejects an unknown dialog kind', () => {
    const message = errorOf(DialogSchema.safeParse({ speaker: 'aki', text: 'hi', kind: 'scream' }));
    expect(message).toMatch(/^kind:/);
  });

  it('rejects blank dialog text', () => {
    expect(errorOf(DialogSchema.safeParse({ speaker: 'aki', text: '   ' }))).toMatch(/dialog text is empty/);
  });

  it('requires sha256 blob ids for reference images', () => {
    const base = { id: 'aki', storyId: 's1', name: 'Aki', ownerId: 'u1', ...stamp };
    expect(CharacterSchema.safeParse({ ...base, referenceImages: ['a'.repeat(64)] }).success).toBe(true);
    expect(errorOf(CharacterSchema.safeParse({ ...base, referenceImages: ['not-a-hash'] }))).toMatch(
      /referenceImages\[0\]: blob ids are sha256 hex digests/,
    );
  });

  it('defaults stories to manga reading order', () => {
    const story = StorySchema.parse({ id: 's1', title: 'T', ownerId: 'u', ...stamp });
    expect(story.readingDirection).toBe('rtl');
    expect(story.renderDefaults.width).toBe(768);
  });

  it('slugifies names into character ids', () => {
    expect(slugify('Old Man Ren')).toBe('old-man-ren');
    expect(slugify('  Émile  ')).toBe('emile');
    expect(slugify('!!!')).toBe('');
  });
});
