export * from './admin.js';
export * from './frames.js';
export * from './history.js';
export * from './identity.js';
export * from './operators.js';
export * from './parse.js';
export * from './subscription-index.js';
export * from './topics.js';
