// Endpoints as users type them: "host:port" or "http(s)://host:port", separated by commas or spaces.
// No `vscode` and no etcd3 here (the palette validates input with it before anything heavy loads).

/** Checks and normalises endpoints; throws a message naming the first bad one. */
export function parseEndpoints(input: string): string[] {
  const parts = input.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new Error('give at least one endpoint, like 127.0.0.1:2379');
  return parts.map((p) => {
    const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})\/?$/.exec(p);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`${JSON.stringify(p)} is not an endpoint; use host:port, like 127.0.0.1:2379`);
    return `${m[1] ?? 'http'}://${m[2]}:${port}`;
  });
}

/** Whether two endpoint lists name the same endpoints, in any order. */
export function sameEndpoints(a: string[], b: string[]): boolean {
  const key = (list: string[]) => [...new Set(list)].sort().join(',');
  return key(a) === key(b);
}
