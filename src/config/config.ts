import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KomaError } from '../domain/errors.js';
import { formatIssuePath } from '../domain/zod-errors.js';

/**
 * The one typed Config: `configs/default.json`, then an optional file named by
 * KOMA_CONFIG, then environment variables. Nothing else in Koma reads process.env;
 * entry points call `loadConfig(process.env)` and pass the result down.
 */

export const ConfigSchema = z.object({
  dataDir: z.string().min(1),
  store: z.object({
    /** `sqlite://path`, `redis://…`, `postgres://…`. */
    url: z.string().regex(/^(sqlite|redis|rediss|postgres|postgresql):\/\//, 'expected a sqlite://, redis:// or postgres:// URL'),
  }),
  blobs: z.object({ dir: z.string().min(1) }),
  discord: z.object({
    token: z.string().min(1).optional(),
    applicationId: z.string().regex(/^\d+$/, 'expected a numeric Discord application id').optional(),
    /** Register commands in one guild only (instant, for development). */
    guildId: z.string().regex(/^\d+$/, 'expected a numeric Discord guild id').optional(),
    /** Base URL of the Discord REST API; tests point it at a loopback fake. */
    apiBaseUrl: z.string().url().optional(),
  }),
  queue: z.object({
    /** Empty: in-process queue. `redis://…`: shared queue for separate workers. */
    url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL').optional(),
    concurrency: z.coerce.number().int().min(1).max(64),
  }),
  render: z.object({
    /** `auto` picks diffusion when a model is installed, else the storyboard renderer. */
    renderer: z.enum(['auto', 'storyboard', 'diffusion']),
    modelsDir: z.string().min(1),
    model: z.string().optional(),
    executionProvider: z.enum(['cpu', 'cuda', 'tensorrt']),
    /** Denoising steps; the model's default when unset. */
    steps: z.coerce.number().int().min(1).max(150).optional(),
    /** SDEdit from the storyboard panel at this strength (0: off). Needs a model with a VAE encoder. */
    storyboardInit: z.coerce.number().min(0).max(1).default(0),
  }),
  limits: z.object({
    maxImageBytes: z.coerce.number().int().positive(),
    maxImagePixels: z.coerce.number().int().positive(),
  }),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable → config path. Explicit, so `grep KOMA_` finds every knob. */
export const ENV_OVERRIDES: Record<string, string> = {
  KOMA_DATA_DIR: 'dataDir',
  KOMA_STORE_URL: 'store.url',
  KOMA_BLOB_DIR: 'blobs.dir',
  DISCORD_TOKEN: 'discord.token',
  DISCORD_APPLICATION_ID: 'discord.applicationId',
  DISCORD_GUILD_ID: 'discord.guildId',
  KOMA_DISCORD_API: 'discord.apiBaseUrl',
  KOMA_QUEUE_URL: 'queue.url',
  KOMA_QUEUE_CONCURRENCY: 'queue.concurrency',
  KOMA_RENDERER: 'render.renderer',
  KOMA_MODELS_DIR: 'render.modelsDir',
  KOMA_MODEL: 'render.model',
  KOMA_EXECUTION_PROVIDER: 'render.executionProvider',
  KOMA_STEPS: 'render.steps',
  KOMA_STORYBOARD_INIT: 'render.storyboardInit',
  KOMA_MAX_IMAGE_BYTES: 'limits.maxImageBytes',
  KOMA_MAX_IMAGE_PIXELS: 'limits.maxImagePixels',
  KOMA_LOG_LEVEL: 'logLevel',
};

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CONFIG_FILE = path.join(PROJECT_ROOT, 'configs', 'default.json');

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

function setPath(target: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1]!] = value;
}

function readJsonFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KomaError('config', `config: cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error('the top level must be an object');
    return parsed;
  } catch (error) {
    throw new KomaError('config', `config: ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

export interface LoadConfigOptions {
  /** Defaults to configs/default.json in the project. */
  defaultsFile?: string;
  /** Extra overrides applied last (tests, CLI flags). */
  overrides?: Json;
}

/**
 * Builds the Config. Errors name the key, where its value came from and what
 * was expected, e.g. `config: queue.concurrency (from KOMA_QUEUE_CONCURRENCY="abc"): expected number`.
 */
export function loadConfig(env: Record<string, string | undefined>, options: LoadConfigOptions = {}): Config {
  let raw = readJsonFile(options.defaultsFile ?? DEFAULT_CONFIG_FILE);
  const sources = new Map<string, string>();
  if (env.KOMA_CONFIG) {
    raw = deepMerge(raw, readJsonFile(env.KOMA_CONFIG));
  }
  for (const [name, dotted] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, dotted, value);
    sources.set(dotted, `${name}="${name === 'DISCORD_TOKEN' ? '***' : value}"`);
  }
  if (options.overrides) raw = deepMerge(raw, options.overrides);

  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = formatIssuePath(issue.path);
      const source = sources.get(key);
      return `${key || '(root)'}${source ? ` (from ${source})` : ''}: ${issue.message}`;
    });
    throw new KomaError('config', `config: ${lines.join('; ')}`);
  }
  return result.data;
}
