import { z } from 'zod';
import { type Box, BoxSchema } from './box.js';
import { parseBox, parseCast, parseDialogs } from './dsl/index.js';
import { describeError, KomaError } from './errors.js';
import {
  type Character,
  CharacterSchema,
  NARRATOR,
  type Panel,
  PanelSchema,
  type Story,
  StorySchema,
  slugify,
  AspectSchema,
  CharacterIdSchema,
  DialogKindSchema,
  LIMITS,
  PromptSchema,
  ReadingDirectionSchema,
  RenderSettingsSchema,
} from './model.js';
import { formatZodError } from './zod-errors.js';

/**
 * The story file `koma render` reads: a whole story in one JSON document, with
 * reference images as paths relative to the file. Boxes, casts and dialogs may be
 * written in the same short language people type in Discord (`"box": "left"`,
 * `"dialogs": "Aki: Hi! | Ren (shout): Run!"`) or as plain JSON.
 */

const BoxInputSchema = z.union([z.string().min(1), BoxSchema]);

const StoryFileCharacterSchema = z.object({
  id: CharacterIdSchema.optional(),
  name: z.string().trim().min(1, 'name is empty').max(LIMITS.nameChars),
  description: z.string().trim().max(LIMITS.descriptionChars).default(''),
  images: z.array(z.string().min(1)).min(1, 'a character needs at least one reference image').max(LIMITS.referenceImagesPerCharacter),
});

const StoryFilePlacementSchema = z.object({
  character: z.string().min(1),
  box: BoxInputSchema,
});

const StoryFileDialogSchema = z.object({
  speaker: z.string().min(1),
  text: z.string().trim().min(1, 'dialog text is empty').max(LIMITS.dialogChars),
  kind: DialogKindSchema.optional(),
  box: BoxInputSchema.optional(),
});

const StoryFilePanelSchema = z.object({
  prompt: PromptSchema,
  negativePrompt: z.string().max(LIMITS.negativePromptChars).optional(),
  aspect: AspectSchema.optional(),
  /** `"Aki @ left, Ren @ right"` or a list of placements. */
  characters: z.union([z.string(), z.array(StoryFilePlacementSchema).max(LIMITS.charactersPerPanel)]).default([]),
  /** `"Aki: Hi! | Ren (shout): Run!"` or a list of dialogs. */
  dialogs: z.union([z.string(), z.array(StoryFileDialogSchema).max(LIMITS.dialogsPerPanel)]).default([]),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  /** Ask the layout for a bigger slot (1 = normal, 2 = about twice the area). */
  emphasis: z.number().min(0.25).max(4).optional(),
});

const StoryFilePageSchema = z.object({
  /** 1-based panel numbers, in reading order. */
  panels: z.array(z.number().int().min(1)).min(1).max(LIMITS.panelsPerPage),
  layout: z.string().default('auto'),
});

export const StoryFileSchema = z.object({
  title: z.string().trim().min(1).max(LIMITS.titleChars),
  readingDirection: ReadingDirectionSchema.default('rtl'),
  language: z.string().default('en'),
  style: z.string().default('manga'),
  author: z.string().optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  render: RenderSettingsSchema.partial().default({}),
  characters: z.array(StoryFileCharacterSchema).max(32).default([]),
  panels: z.array(StoryFilePanelSchema).min(1, 'a story needs at least one panel').max(200),
  pages: z.array(StoryFilePageSchema).optional(),
});

export type StoryFile = z.infer<typeof StoryFileSchema>;
export type StoryFilePanel = z.infer<typeof StoryFilePanelSchema>;

/** A story file turned into domain records (not yet stored; versions are 0). */
export interface ResolvedStory {
  story: Story;
  characters: Character[];
  panels: Panel[];
  /** Pages as lists of panel indices (0-based) with their layout choice. */
  pages: { panelIndices: number[]; layout: string }[];
  /** Reference image paths per character id, as written in the file. */
  imagePaths: Map<string, string[]>;
  /** Per-panel layout emphasis (1 = normal). */
  emphasis: number[];
}

const PANELS_PER_AUTO_PAGE = 6;

/** Splits n panels into pages of at most 6, as evenly as possible (7 → 4+3, not 6+1). */
export function autoPages(panelCount: number): number[][] {
  const pageCount = Math.ceil(panelCount / PANELS_PER_AUTO_PAGE);
  const pages: number[][] = [];
  let next = 0;
  for (let p = 0; p < pageCount; p++) {
    const size = Math.ceil((panelCount - next) / (pageCount - p));
    pages.push(Array.from({ length: size }, (_, i) => next + i));
    next += size;
  }
  return pages;
}

/** Seeds derived from the story seed so every panel differs but reruns match. */
export function derivePanelSeed(storySeed: number, panelIndex: number): number {
  let h = (storySeed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (panelIndex + 1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function fail(where: string, message: string): never {
  throw new KomaError('invalid-input', `${where}: ${message}`);
}

/**
 * Resolves names to ids and the short languages to boxes and dialogs. Every
 * error names the panel (1-based, as people count) and what was wrong.
 */
export function resolveStoryFile(file: StoryFile, options: { ownerId?: string; now?: string } = {}): ResolvedStory {
  const now = options.now ?? new Date(0).toISOString();
  const stamp = { version: 0, createdAt: now, updatedAt: now };
  const ownerId = options.ownerId ?? 'local';
  const storyId = slugify(file.title) || 'story';

  const story = StorySchema.parse({
    id: storyId.slice(0, 64),
    title: file.title,
    ownerId,
    readingDirection: file.readingDirection,
    language: file.language,
    stylePreset: file.style,
    renderDefaults: RenderSettingsSchema.parse(file.render),
    ...stamp,
  });

  const characters: Character[] = [];
  const imagePaths = new Map<string, string[]>();
  file.characters.forEach((c, i) => {
    const id = c.id ?? slugify(c.name);
    if (!id) fail(`characters[${i}]`, `cannot make an id from the name "${c.name}"; give an "id"`);
    if (imagePaths.has(id)) fail(`characters[${i}]`, `two characters have the id "${id}"`);
    imagePaths.set(id, c.images);
    characters.push(
      CharacterSchema.parse({ id, storyId: story.id, name: c.name, description: c.description, referenceImages: [], ownerId, ...stamp }),
    );
  });
  const cast = characters.map((c) => ({ id: c.id, name: c.name }));

  const findCharacter = (where: string, nameOrId: string): string => {
    const key = nameOrId.trim().toLowerCase();
    const found = characters.find((c) => c.id === key || c.name.toLowerCase() === key);
    if (!found) {
      const known = characters.map((c) => c.name).join(', ') || 'none';
      fail(where, `unknown character "${nameOrId}" (known: ${known})`);
    }
    return found.id;
  };
  const toBox = (where: string, input: string | Box): Box => {
    if (typeof input !== 'string') return input;
    try {
      return parseBox(input);
    } catch (error) {
      fail(where, describeError(error));
    }
  };
  const withWhere = <T>(where: string, parse: () => T): T => {
    try {
      return parse();
    } catch (error) {
      fail(where, describeError(error));
    }
  };

  const panels = file.panels.map((p, i) => {
    const where = `panel ${i + 1}`;
    const placements =
      typeof p.characters === 'string'
        ? withWhere(where, () => parseCast(p.characters as string, cast))
        : p.characters.map((pl, k) => ({
            characterId: findCharacter(`${where}, character ${k + 1}`, pl.character),
            box: toBox(`${where}, character ${k + 1}`, pl.box),
          }));
    const dialogs =
      typeof p.dialogs === 'string'
        ? withWhere(where, () => parseDialogs(p.dialogs as string, cast))
        : p.dialogs.map((d, k) => {
            const dw = `${where}, dialog ${k + 1}`;
            const speaker = d.speaker.trim().toLowerCase() === NARRATOR ? NARRATOR : findCharacter(dw, d.speaker);
            const kind = d.kind ?? (speaker === NARRATOR ? 'narration' : 'speech');
            return { speaker, text: d.text, kind, ...(d.box === undefined ? {} : { box: toBox(dw, d.box) }) };
          });
    const parsed = PanelSchema.safeParse({
      id: `p${String(i + 1).padStart(3, '0')}`,
      storyId: story.id,
      index: i,
      prompt: p.prompt,
      negativePrompt: p.negativePrompt ?? '',
      aspect: p.aspect,
      characters: placements,
      dialogs,
      seed: p.seed ?? derivePanelSeed(file.seed, i),
      ...stamp,
    });
    if (!parsed.success) fail(where, formatZodError(parsed.error));
    return parsed.data;
  });

  let pages: ResolvedStory['pages'];
  if (file.pages) {
    const used = new Set<number>();
    pages = file.pages.map((page, k) => {
      const panelIndices = page.panels.map((n) => {
        if (n > panels.length) fail(`page ${k + 1}`, `there is no panel ${n} (the story has ${panels.length})`);
        if (used.has(n)) fail(`page ${k + 1}`, `panel ${n} is already on another page`);
        used.add(n);
        return n - 1;
      });
      return { panelIndices, layout: page.layout };
    });
  } else {
    pages = autoPages(panels.length).map((panelIndices) => ({ panelIndices, layout: 'auto' }));
  }

  return { story, characters, panels, pages, imagePaths, emphasis: file.panels.map((p) => p.emphasis ?? 1) };
}
