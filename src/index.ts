// Public entry for embedding ikegate: load a swanctl.conf-style configuration and start a gateway,
// or drive the IKE engine directly with your own ports.
export { loadConfig, loadConfigText } from './config/load.js';
export { startGateway, type Gateway } from './daemon/runtime.js';
export { IkeEngine } from './ike/engine.js';
export type { Datagram, Transport, Clock, EnginePorts } from './ike/ports.js';
export type { Dataplane } from './xfrm/dataplane.js';
export { MemoryDataplane } from './xfrm/memory-dataplane.js';
