/**
 * Entry point of a render worker (`npm run worker`). Separate workers arrive with
 * the job queue in a later issue; `koma render` renders in-process today.
 */
process.stderr.write('koma: separate render workers are not part of this version yet; `npm run render` renders in-process.\n');
process.exitCode = 1;
