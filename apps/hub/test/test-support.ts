/**
 * `@edgewire/hub/test-support`: what other packages' tests may use of the hub, on purpose (the agent's
 * end-to-end suites run against a real hub). Nothing here is part of the hub's runtime.
 */
export { createTestDatabase, DRIVERS, TEST_SERVER_URL, type TestDatabase } from './databases.js';
export {
  type ClientOptions,
  connect,
  refusal,
  startTestHub,
  TestClient,
  type TestHub,
} from './hub-harness.js';
export { freePort } from './ports.js';
export { TEST_REDIS_URL } from './redis-cluster.js';
export { type StorageWriterOptions, storageWriter, storedValues } from './stored-readings.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export { makeCertificates, type TestCertificates } from './tls.js';
export { closedWithin, sleep, waitFor } from './wait.js';
