import { z } from 'zod';
import { SchedulerConfigSchema, SchedulerNameSchema } from '../schedulers/index.js';
import { CAPABILITIES } from './capabilities.js';

/**
 * `models/<id>/manifest.json`: which family a model is, where its components
 * are (the optimum-cli export layout), how to sample it, and what its UNet can
 * take. One code path serves SD 1.5, SD 2, SD-Turbo, SDXL, LCM and DiffSensei
 * exports; the manifest selects the branches.
 */
export const ModelFamilySchema = z.enum(['sd15', 'sd2', 'sdxl', 'sd-turbo', 'sdxl-turbo', 'lcm', 'diffsensei']);
export type ModelFamily = z.infer<typeof ModelFamilySchema>;

const RelativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'paths are relative to the model folder');

export const ManifestSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'model ids are lower-case letters, digits, ".", "_" or "-"'),
  family: ModelFamilySchema,
  description: z.string().default(''),
  /** Example manifests describe a layout; their weights are not installed. */
  example: z.boolean().default(false),
  /** Where the component files are: relative to the manifest's folder, or absolute (an imported export). */
  root: z.string().default('.'),
  components: z.object({
    textEncoder: RelativePath.default('text_encoder/model.onnx'),
    textEncoder2: RelativePath.optional(),
    unet: RelativePath.default('unet/model.onnx'),
    vaeDecoder: RelativePath.default('vae_decoder/model.onnx'),
    vaeEncoder: RelativePath.optional(),
    tokenizer: RelativePath.default('tokenizer'),
    tokenizer2: RelativePath.optional(),
    /** DiffSensei: reference images → character tokens (image encoders + resampler in one graph). */
    characterEncoder: RelativePath.optional(),
  }),
  predictionType: z.enum(['epsilon', 'v_prediction']).default('epsilon'),
  scheduler: z.object({ name: SchedulerNameSchema, config: SchedulerConfigSchema.partial().default({}) }),
  vaeScalingFactor: z.number().positive(),
  sizeMultiple: z.union([z.literal(8), z.literal(32), z.literal(64)]),
  defaultSize: z.object({ width: z.number().int().min(64).max(2048), height: z.number().int().min(64).max(2048) }),
  defaultSteps: z.number().int().min(1).max(150),
  defaultGuidance: z.number().min(0).max(30),
  tokenizerPad: z.object({ first: z.number().int().nonnegative(), second: z.number().int().nonnegative().optional() }),
  capabilities: z.array(z.enum(CAPABILITIES)).default([]),
  /** Latent → RGB factors for previews and the paper tone; the family's fit when omitted. */
  latentRgb: z.object({ factors: z.array(z.array(z.number()).length(3)).min(1), bias: z.array(z.number()).length(3) }).optional(),
  /** DiffSensei's character scale (ip_scale) default. */
  characterScale: z.number().min(0).max(2).default(0.6),
  defaultNegativePrompt: z.string().default(''),
  /** Optional integrity and download data per relative file path. */
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(), url: z.string().url().optional(), bytes: z.number().int().positive().optional() })).default({}),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;

/** Family defaults (from the model cards and diffusers configs). */
export function familyDefaults(family: ModelFamily): Omit<ManifestInput, 'id' | 'family' | 'components'> {
  switch (family) {
    case 'diffsensei':
      // DiffSensei's inference config: Euler leading, 30 steps, CFG 7.5, ip_scale 0.6, its negative prompt ("think" is theirs).
      return { vaeScalingFactor: 0.13025, sizeMultiple: 32, defaultSize: { width: 1024, height: 1024 }, defaultSteps: 30, defaultGuidance: 7.5, tokenizerPad: { first: 49407, second: 0 }, scheduler: { name: 'euler', config: { timestepSpacing: 'leading', stepsOffset: 1 } }, characterScale: 0.6, defaultNegativePrompt: 'think lines, pure black background, colored, lowres, bad anatomy, worst quality, low quality' };
    case 'sdxl':
      return { vaeScalingFactor: 0.13025, sizeMultiple: 32, defaultSize: { width: 1024, height: 1024 }, defaultSteps: 30, defaultGuidance: 5, tokenizerPad: { first: 49407, second: 0 }, scheduler: { name: 'euler', config: { timestepSpacing: 'leading', stepsOffset: 1 } } };
    case 'sdxl-turbo':
      return { vaeScalingFactor: 0.13025, sizeMultiple: 32, defaultSize: { width: 512, height: 512 }, defaultSteps: 1, defaultGuidance: 0, tokenizerPad: { first: 49407, second: 0 }, scheduler: { name: 'euler', config: { timestepSpacing: 'trailing' } } };
    case 'sd-turbo':
      return { vaeScalingFactor: 0.18215, sizeMultiple: 8, defaultSize: { width: 512, height: 512 }, defaultSteps: 1, defaultGuidance: 0, tokenizerPad: { first: 0 }, scheduler: { name: 'euler', config: { timestepSpacing: 'trailing' } } };
    case 'sd2':
      return { vaeScalingFactor: 0.18215, sizeMultiple: 8, defaultSize: { width: 768, height: 768 }, defaultSteps: 25, defaultGuidance: 7.5, tokenizerPad: { first: 0 }, predictionType: 'v_prediction', scheduler: { name: 'dpmpp-2m', config: { timestepSpacing: 'leading', stepsOffset: 1 } } };
    case 'lcm':
      return { vaeScalingFactor: 0.18215, sizeMultiple: 8, defaultSize: { width: 512, height: 512 }, defaultSteps: 4, defaultGuidance: 8, tokenizerPad: { first: 49407 }, scheduler: { name: 'lcm', config: {} } };
    case 'sd15':
      return { vaeScalingFactor: 0.18215, sizeMultiple: 8, defaultSize: { width: 512, height: 512 }, defaultSteps: 25, defaultGuidance: 7.5, tokenizerPad: { first: 49407 }, scheduler: { name: 'dpmpp-2m', config: { timestepSpacing: 'leading', stepsOffset: 1 } } };
  }
}
