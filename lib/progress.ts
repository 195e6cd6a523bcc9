/** Text progress for long runs: a bar, the rate so far and the time left. */

/** Formats `done` of `total` as a bar with percent and estimated time left. */
export function formatProgress(
  done: number,
  total: number,
  options: { elapsedSeconds: number; width?: number; label?: string },
): string {
  const width = options.width ?? 24;
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const left = done > 0 ? options.elapsedSeconds * (total - done) / done : NaN;
  const label = options.label ? `${options.label} ` : "";
  return `${label}[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
    `${formatDuration(left)} left`;
}

/** Formats seconds as "1h 02m", "3m 05s" or "42s"; unknown as "?". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  if (minutes > 0) return `${minutes}m ${String(secs).padStart(2, "0")}s`;
  return `${secs}s`;
}
