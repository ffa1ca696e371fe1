import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeError, KomaError } from '../domain/errors.js';
import { type ResolvedStory, resolveStoryFile, StoryFileSchema } from '../domain/story-file.js';
import { formatZodError } from '../domain/zod-errors.js';
import { loadReferenceImage } from '../images/validate.js';

export interface LoadedStoryFile extends ResolvedStory {
  /** Where the story file was read from. */
  file: string;
  /** Normalised reference images (PNG) per character id. */
  images: Map<string, Buffer[]>;
}

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

/** Accepts the story file itself or a folder holding `story.json`. */
async function findStoryFile(input: string): Promise<string> {
  let info;
  try {
    info = await stat(input);
  } catch {
    throw new KomaError('not-found', `story file ${input} does not exist`);
  }
  return info.isDirectory() ? path.join(input, 'story.json') : input;
}

/**
 * Reads, validates and resolves a story file and its reference images. Every
 * problem becomes one KomaError line that names the file and the place in it.
 */
export async function loadStoryFile(input: string, limits: ImageLimits): Promise<LoadedStoryFile> {
  const file = await findStoryFile(input);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new KomaError('not-found', `cannot read story file ${file}: ${(error as NodeJS.ErrnoException).code ?? describeError(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new KomaError('invalid-input', `story file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = StoryFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new KomaError('invalid-input', `story file ${file}: ${formatZodError(parsed.error)}`);
  }
  let resolved: ResolvedStory;
  try {
    resolved = resolveStoryFile(parsed.data);
  } catch (error) {
    throw new KomaError('invalid-input', `story file ${file}: ${describeError(error)}`);
  }

  const baseDir = path.dirname(file);
  const images = new Map<string, Buffer[]>();
  for (const character of resolved.characters) {
    const loaded: Buffer[] = [];
    for (const relative of resolved.imagePaths.get(character.id) ?? []) {
      const where = `character ${character.name}: reference image ${relative}`;
      let bytes: Buffer;
      try {
        bytes = await readFile(path.resolve(baseDir, relative));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new KomaError('not-found', `${where}: ${code === 'ENOENT' ? 'file not found' : describeError(error)}`);
      }
      try {
        loaded.push(await loadReferenceImage(bytes, limits));
      } catch (error) {
        throw new KomaError('bad-image', `${where}: ${describeError(error)}`);
      }
    }
    images.set(character.id, loaded);
  }
  return { ...resolved, file, images };
}
