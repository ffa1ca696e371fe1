import { z } from 'zod';
import { BoxSchema } from './box.js';
import {
  AspectSchema,
  CharacterIdSchema,
  DialogKindSchema,
  LIMITS,
  PromptSchema,
  ReadingDirectionSchema,
  RenderSettingsSchema,
} from './model.js';

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
