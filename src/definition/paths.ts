/** Reads a value by a key path such as `packages.sets[2].action`. */
export function getAt(root: unknown, path: string): unknown {
  if (path === '') return root;
  let cur: unknown = root;
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (cur === null || cur === undefined) return undefined;
    if (part.startsWith('[')) {
      const i = Number(part.slice(1, -1));
      cur = Array.isArray(cur) ? cur[i] : undefined;
    } else {
      cur =
        typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, part)
          ? (cur as Record<string, unknown>)[part]
          : undefined;
    }
  }
  return cur;
}

/** `files[2].content` -> `files[2]`. */
export function parentPath(path: string): string {
  const m = /^(.*?)(\.[^.[\]]+|\[\d+\])$/.exec(path);
  return m ? m[1]! : '';
}
