'use strict';
// Node-RED in a process of its own, for tests that kill and restart it: `node runtime-process.js <userDir>`
// starts the flows in <userDir> with the file context store (as a production runtime would) and prints its
// admin URL once they run.
const { startRuntime } = require('./runtime');

startRuntime({ settings: { userDir: process.argv[2], contextStorage: { default: { module: 'localfilesystem' } } } }).then(
  (runtime) => console.log(`Node-RED on ${runtime.admin}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
