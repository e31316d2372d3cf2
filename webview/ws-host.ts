// The browser host: the dashboard page served by `raftlab up` talks to the control API on the same port.
// This adapter turns the dashboard protocol into control API requests (docs/control-api.md) and its replies
// and pushes back into host messages, reconnecting when the socket drops. It is the only browser-specific code.
import type { ControlPush, ControlReply, ControlRequest } from '../src/api/control-protocol.ts';
import type { HostLink, ViewState } from './host-link.ts';
import type { DashboardAction, HostMessage, ViewMessage } from './protocol.ts';

/** The control API request for a dashboard action. */
export function toControlRequest(a: DashboardAction): ControlRequest {
  switch (a.kind) {
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
    case 'isolate':
    case 'transfer':
    case 'remove':
    case 'promote':
      return { op: a.kind, peer: a.peer };
    case 'killLeader':
      return { op: 'kill', peer: 'leader' };
    case 'cut':
      return { op: 'cut', from: a.from, to: a.to, oneWay: a.oneWay };
    case 'drop':
      return { op: 'drop', from: a.from, to: a.to, percent: a.percent };
    case 'delay':
      return { op: 'delay', from: a.from, to: a.to, ms: a.ms };
    case 'heal':
      return { op: 'heal' };
    case 'add':
      return { op: 'add' };
    case 'put':
      return { op: 'put', key: a.key, value: a.value };
    case 'get':
      return { op: 'get', key: a.key };
    case 'alarm':
      return { op: 'alarm', action: a.action };
  }
}

const STATE_KEY = 'raftlab.dashboard.state';
const SUBSCRIBE_ID = 'subscribe';

export function websocketLink(url = `ws://${location.host}/`): HostLink {
  const listeners: ((m: HostMessage) => void)[] = [];
  const emit = (m: HostMessage) => listeners.forEach((l) => l(m));
  let ws: WebSocket | undefined;
  let wantsStatus = false;
  let retryMs = 250;
  /** Actions sent and not yet answered: a dropped socket fails them (their answer can never come). */
  const inFlight = new Set<number>();
  const fail = (id: number, message: string) => emit({ type: 'result', id, ok: false, error: { code: 'UNAVAILABLE', message } });

  const connect = () => {
    emit({ type: 'connection', state: 'connecting' });
    const socket = new WebSocket(url);
    ws = socket;
    socket.onopen = () => {
      retryMs = 250;
      emit({ type: 'connection', state: 'open' });
      if (wantsStatus) socket.send(JSON.stringify({ v: 1, id: SUBSCRIBE_ID, op: 'subscribe' }));
    };
    socket.onmessage = (e: MessageEvent) => {
      const m = JSON.parse(String(e.data)) as ControlReply | ControlPush;
      if ('type' in m) {
        emit(m.type === 'status' ? { type: 'status', status: m.status } : { type: 'event', event: m.event });
      } else if (m.id === SUBSCRIBE_ID) {
        if (m.ok) emit({ type: 'status', status: m.result as never });
      } else if (typeof m.id === 'number') {
        inFlight.delete(m.id);
        emit(m.ok ? { type: 'result', id: m.id, ok: true, value: m.result } : { type: 'result', id: m.id, ok: false, error: m.error });
      }
    };
    socket.onclose = () => {
      if (ws !== socket) return;
      for (const id of inFlight) fail(id, 'the connection to the cluster dropped before it answered: the action may or may not have happened');
      inFlight.clear();
      emit({ type: 'connection', state: 'closed', detail: `reconnecting to ${url}` });
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 4000);
    };
  };

  return {
    kind: 'browser',
    send(message: ViewMessage) {
      if (message.type === 'ready') {
        wantsStatus = true;
        if (!ws) connect();
        else if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: 1, id: SUBSCRIBE_ID, op: 'subscribe' }));
        return;
      }
      if (!ws) connect();
      // Never queued for later: after a reconnect it could hit another cluster (a new `raftlab up` on the port).
      if (ws?.readyState !== WebSocket.OPEN) return fail(message.id, 'not connected to the cluster: nothing was sent');
      inFlight.add(message.id);
      ws.send(JSON.stringify({ v: 1, id: message.id, ...toControlRequest(message.action) }));
    },
    onMessage: (listener) => void listeners.push(listener),
    getState: () => {
      try {
        return JSON.parse(sessionStorage.getItem(STATE_KEY) ?? '{}') as ViewState;
      } catch {
        return {};
      }
    },
    setState: (s) => {
      try {
        sessionStorage.setItem(STATE_KEY, JSON.stringify(s));
      } catch {
        // Storage may be unavailable (private mode); the state is a convenience.
      }
    },
  };
}
