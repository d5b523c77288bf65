/**
 * Markdown helpers for text that GitHub renders (comments, issue bodies, job summaries).
 * Limits are GitHub's: comment and issue bodies at most 65,536 characters, a step's job
 * summary at most 1 MiB.
 */
export const COMMENT_BODY_LIMIT = 65_536;
export const JOB_SUMMARY_LIMIT_BYTES = 1024 * 1024;

/** A fenced code block that nothing inside can close: the fence is longer than any backtick run. */
export function codeBlock(text: string, language = ''): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text}${text.endsWith('\n') ? '' : '\n'}${fence}`;
}

/** A table cell: pipes escaped, line breaks as <br>, HTML-significant characters neutralised. */
export function tableCell(text: string): string {
  return escapeHtml(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Inline code that survives any content (backticks inside get a longer delimiter). */
export function inlineCode(text: string): string {
  const clean = text.replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((run) => run.length));
  const tick = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${tick}${pad}${clean}${pad}${tick}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The longest prefix of `text`, cut at a line end, whose length (measured by `measure`) is at
 * most `budget`. Returns the kept text and how many lines were dropped.
 */
export function keepHeadLines(
  text: string,
  budget: number,
  measure: (s: string) => number = (s) => s.length,
): { kept: string; droppedLines: number; totalLines: number } {
  const lines = text.split('\n');
  if (measure(text) <= budget) return { kept: text, droppedLines: 0, totalLines: lines.length };
  let used = 0;
  let count = 0;
  for (const line of lines) {
    const cost = measure(line) + 1;
    if (used + cost > budget) break;
    used += cost;
    count++;
  }
  return {
    kept: lines.slice(0, count).join('\n'),
    droppedLines: lines.length - count,
    totalLines: lines.length,
  };
}

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
