/** Text progress for long runs: a bar, the rate so far and the time left. */
import { formatDuration } from "../../lib/common/format.ts";

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
