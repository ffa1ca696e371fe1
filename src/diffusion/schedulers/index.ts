import { z } from 'zod';
import { DdimScheduler } from './ddim.js';
import { DpmSolverMultistepScheduler } from './dpmpp-2m.js';
import { EulerAncestralScheduler, EulerScheduler } from './euler.js';
import { LcmScheduler } from './lcm.js';
import type { Scheduler } from './scheduler.js';
import { type SchedulerConfigInput, SchedulerConfigSchema } from './schedule.js';

export { DdimScheduler } from './ddim.js';
export { DpmSolverMultistepScheduler } from './dpmpp-2m.js';
export { EulerAncestralScheduler, EulerScheduler } from './euler.js';
export { guidanceScaleEmbedding, LcmScheduler } from './lcm.js';
export { Scheduler, type StepResult } from './scheduler.js';
export { type SchedulerConfig, type SchedulerConfigInput, SchedulerConfigSchema, noiseSchedule } from './schedule.js';

export const SchedulerNameSchema = z.enum(['ddim', 'euler', 'euler-a', 'dpmpp-2m', 'dpmpp-2m-karras', 'lcm']);
export type SchedulerName = z.infer<typeof SchedulerNameSchema>;

/** A scheduler by the name model manifests and users give. */
export function createScheduler(name: SchedulerName, config: SchedulerConfigInput = {}): Scheduler {
  const parsed = SchedulerConfigSchema.parse(config);
  switch (name) {
    case 'ddim':
      return new DdimScheduler(parsed);
    case 'euler':
      return new EulerScheduler(parsed);
    case 'euler-a':
      return new EulerAncestralScheduler(parsed);
    case 'dpmpp-2m':
      return new DpmSolverMultistepScheduler(parsed);
    case 'dpmpp-2m-karras':
      return new DpmSolverMultistepScheduler({ ...parsed, useKarrasSigmas: true });
    case 'lcm':
      return new LcmScheduler(parsed);
  }
}

/** img2img / SDEdit: the timesteps left after skipping the first (1 − strength) of the schedule. */
export function timestepsForStrength(scheduler: Scheduler, strength: number): number[] {
  if (!(strength > 0 && strength <= 1)) throw new Error(`strength must be in (0, 1], got ${strength}`);
  const steps = scheduler.timesteps.length;
  const start = steps - Math.min(steps, Math.round(steps * strength));
  return scheduler.timesteps.slice(start);
}
