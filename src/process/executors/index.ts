/** Job executors: SLURM (local CLI or SSH) and local child processes. */
export {
  type CommandResult,
  type CommandRunner,
  jobEnvironment,
  LocalRunner,
  type RunOptions,
} from './command.ts';
export { LocalExecutor, type LocalExecutorOptions } from './local.ts';
export { shellQuote, validateKey, validateWorkDir } from './quote.ts';
export { SlurmExecutor, type SlurmExecutorOptions } from './slurm.ts';
export { type SshHost, SshRunner, type SshRunnerOptions } from './ssh.ts';
export { type Executor, FINAL_STATES, type JobSpec, type JobState, type JobStatus } from './types.ts';
export { FILES as JOB_FILES } from './wrapper.ts';
