export { type AgentStats, type RunningAgent, type StartAgentOptions, startAgent } from './agent.js';
export { BYTES_PER_READING, ReadingBuffer } from './buffer/reading-buffer.js';
export {
  type AgentConfig,
  type AgentConfigInput,
  ConfigError,
  loadConfig,
  parseConfig,
  tokenFromEnvironment,
} from './config.js';
export type { ConnectionState } from './connection/hub-connection.js';
export { createLogger, type Logger } from './logger.js';
