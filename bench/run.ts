import { benchCompose } from './compose.js';

/** `npm run bench`: every benchmark prints a ratio measured side by side in this run. */
const compose = await benchCompose();
console.log(
  `compose: 6 panels + ${compose.balloons} balloons at 1600 px: ${compose.composeMs.toFixed(1)} ms vs sharp-only ${compose.sharpMs.toFixed(1)} ms ` +
    `= ratio ${compose.ratio.toFixed(2)} (target ≤ 2.0); peak RSS ${compose.peakRssMb.toFixed(0)} MB`,
);
