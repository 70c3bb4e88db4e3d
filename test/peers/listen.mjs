// Listening and closing for the peers' node:http servers.

/** Listen on host:port (0 = ephemeral); resolves with the port bound. */
export async function listen(server, port, host) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server.address().port;
}

/** A close() that also ends keep-alive connections, so it resolves at once. */
export function closer(server) {
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}
