// Where a running tunnel keeps its control socket, undo journal and log. A module of its own so that
// `roam status`/`disconnect` and the --background parent find it without loading the tunnel.

/** Control sockets and undo journals; tests point it elsewhere with ROAM_RUN_DIR. */
export const STATE_DIR = process.env.ROAM_RUN_DIR || "/run/roam";

/** The roam service's socket (`roam service`): `connect --background` hands its tunnel to it when it listens. */
export const SERVICE_SOCKET = `${STATE_DIR}/service.sock`;
