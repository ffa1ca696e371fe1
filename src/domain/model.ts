import { z } from 'zod';
import { BoxSchema } from './box.js';

/**
 * The story model: zod schemas and their TypeScript types, in one place.
 * Stored records (Story, Character, Panel, Page) carry `version`, which the
 * store bumps on every write and checks to refuse writes based on stale reads.
 */

export const LIMITS = {
  promptChars: 1000,
  negativePromptChars: 1000,
  dialogChars: 500,
  nameChars: 40,
  descriptionChars: 600,
  titleChars: 120,
  charactersPerPanel: 8,
  dialogsPerPanel: 8,
  referenceImagesPerCharacter: 4,
  panelsPerPage: 8,
} as const;

const tooLong = (what: string, max: number) => (issue: { input?: unknown }) =>
  typeof issue.input === 'string'
    ? `${what} is ${issue.input.length} characters; the limit is ${max}`
    : `${what} must be text`;

export const IdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'ids are 1-64 letters, digits, "_" or "-"');

/** A character id is the lower-case slug of its name: `aki`, `old-man-ren`. */
export const CharacterIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'character ids are 1-40 lower-case letters, digits, "_" or "-"');

/** sha256 hex of the blob's bytes (content addressing). */
export const BlobIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'blob ids are sha256 hex digests');

export const ReadingDirectionSchema = z.enum(['rtl', 'ltr']);
export type ReadingDirection = z.infer<typeof ReadingDirectionSchema>;

export const DialogKindSchema = z.enum(['speech', 'thought', 'shout', 'whisper', 'narration']);
export type DialogKind = z.infer<typeof DialogKindSchema>;

export const NARRATOR = 'narrator' as const;

export const PromptSchema = z.string().trim().max(LIMITS.promptChars, { error: tooLong('prompt', LIMITS.promptChars) });

export const RenderSettingsSchema = z.object({
  /** Panel size used when a panel gives neither size nor aspect. */
  width: z.number().int().min(64).max(2048).default(768),
  height: z.number().int().min(64).max(2048).default(512),
  steps: z.number().int().min(1).max(150).default(25),
  guidance: z.number().min(0).max(30).default(7),
  sampler: z.string().default('dpmpp-2m'),
  negativePrompt: z.string().max(LIMITS.negativePromptChars).default(''),
});
export type RenderSettings = z.infer<typeof RenderSettingsSchema>;

const Versioned = {
  version: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const StorySchema = z.object({
  id: IdSchema,
  title: z.string().trim().min(1, 'title is empty').max(LIMITS.titleChars, { error: tooLong('title', LIMITS.titleChars) }),
  guildId: z.string().optional(),
  threadId: z.string().optional(),
  ownerId: z.string(),
  collaboratorIds: z.array(z.string()).default([]),
  readingDirection: ReadingDirectionSchema.default('rtl'),
  /** BCP-47 language of the dialog; `ja` with `rtl` letters vertically. */
  language: z.string().default('en'),
  stylePreset: z.string().default('manga'),
  renderDefaults: RenderSettingsSchema.default(RenderSettingsSchema.parse({})),
  ...Versioned,
});
export type Story = z.infer<typeof StorySchema>;

export const CharacterSchema = z.object({
  id: CharacterIdSchema,
  storyId: IdSchema,
  name: z.string().trim().min(1, 'name is empty').max(LIMITS.nameChars, { error: tooLong('name', LIMITS.nameChars) }),
  description: z
    .string()
    .trim()
    .max(LIMITS.descriptionChars, { error: tooLong('description', LIMITS.descriptionChars) })
    .default(''),
  referenceImages: z.array(BlobIdSchema).max(LIMITS.referenceImagesPerCharacter).default([]),
  ownerId: z.string(),
  ...Versioned,
});
export type Character = z.infer<typeof CharacterSchema>;

export const CharacterPlacementSchema = z.object({
  characterId: CharacterIdSchema,
  box: BoxSchema,
});
export type CharacterPlacement = z.infer<typeof CharacterPlacementSchema>;

export const DialogSchema = z.object({
  speaker: z.union([z.literal(NARRATOR), CharacterIdSchema]),
  text: z
    .string()
    .trim()
    .min(1, 'dialog text is empty')
    .max(LIMITS.dialogChars, { error: tooLong('dialog text', LIMITS.dialogChars) }),
  kind: DialogKindSchema.default('speech'),
  box: BoxSchema.optional(),
});
export type Dialog = z.infer<typeof DialogSchema>;

export const PanelVariantSchema = z.object({
  blobId: BlobIdSchema,
  seed: z.number().int(),
  renderer: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  createdAt: z.string(),
});
export type PanelVariant = z.infer<typeof PanelVariantSchema>;

/** Aspect as `w:h` (e.g. `3:2`); the layout may later fix the exact pixel size. */
export const AspectSchema = z
  .string()
  .regex(/^\d+(\.\d+)?:\d+(\.\d+)?$/, 'aspect is written like 3:2 or 16:9')
  .refine((a) => {
    const [w, h] = a.split(':').map(Number) as [number, number];
    return w > 0 && h > 0 && w / h <= 8 && h / w <= 8;
  }, 'aspect must be between 1:8 and 8:1');

export const PanelSchema = z
  .object({
    id: IdSchema,
    storyId: IdSchema,
    index: z.number().int().nonnegative(),
    prompt: PromptSchema,
    negativePrompt: z.string().max(LIMITS.negativePromptChars).default(''),
    aspect: AspectSchema.optional(),
    size: z.object({ width: z.number().int().min(64).max(2048), height: z.number().int().min(64).max(2048) }).optional(),
    characters: z.array(CharacterPlacementSchema).max(LIMITS.charactersPerPanel).default([]),
    dialogs: z.array(DialogSchema).max(LIMITS.dialogsPerPanel).default([]),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    variants: z.array(PanelVariantSchema).default([]),
    chosenVariant: z.number().int().nonnegative().optional(),
    ...Versioned,
  })
  .superRefine((panel, ctx) => {
    const seen = new Set<string>();
    panel.characters.forEach((c, i) => {
      if (seen.has(c.characterId)) {
        ctx.addIssue({ code: 'custom', path: ['characters', i, 'characterId'], message: `character "${c.characterId}" is placed twice` });
      }
      seen.add(c.characterId);
    });
    if (panel.chosenVariant !== undefined && panel.chosenVariant >= panel.variants.length) {
      ctx.addIssue({ code: 'custom', path: ['chosenVariant'], message: `variant ${panel.chosenVariant + 1} does not exist` });
    }
  });
export type Panel = z.infer<typeof PanelSchema>;

export const PageSchema = z.object({
  id: IdSchema,
  storyId: IdSchema,
  index: z.number().int().nonnegative(),
  panelIds: z.array(IdSchema).min(1).max(LIMITS.panelsPerPage),
  /** A template name (`2x2`, `3-tier`, …) or `auto` for the layout solver. */
  layout: z.string().default('auto'),
  ...Versioned,
});
export type Page = z.infer<typeof PageSchema>;

/** Turns a name into a character id: `Old Man Ren` → `old-man-ren`. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
  return slug;
}
