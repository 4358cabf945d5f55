/**
 * Preloaded into the Node that `run-cli.mjs` starts as its child. A launcher killed outright (SIGKILL,
 * the OOM killer) forwards no signal; its child would run on unseen, and a hub would keep its data
 * directory locked. The launcher's IPC channel closes when it dies, so the child then stops itself the
 * way SIGTERM stops it (gracefully, flushing what is queued).
 */
if (process.channel) {
  // The channel only watches the launcher; it must not keep a finished child alive.
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
