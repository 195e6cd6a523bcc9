/** Number formats shared by tables, charts and command-line output. */

/** Formats an integer with thousands separators: 1199882 -> "1,199,882". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** Formats MB with two decimals, or with four below 0.01 MB so tiny models do not read 0.00. */
export function formatMB(value: number): string {
  return value < 0.01 ? value.toFixed(4) : value.toFixed(2);
}

/** 1,234 / 123 / 12.3 / 1.23 / 0.012: three significant digits at most, never exponents. */
export function formatNumber(value: number): string {
  const size = Math.abs(value);
  if (size >= 100) return formatCount(value);
  if (size >= 10) return String(Math.round(value * 10) / 10);
  if (size >= 1) return String(Math.round(value * 100) / 100);
  if (size === 0) return "0";
  return String(Number(value.toPrecision(2)));
}

/** A fraction as a percentage with two decimals: 0.9926 -> "99.26%". */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/** A share of a whole: "<0.1%", "4.2%", "87%". */
export function formatShare(fraction: number): string {
  const percent = fraction * 100;
  if (percent > 0 && percent < 0.1) return "<0.1%";
  return `${percent >= 10 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

/** 518 / 7.1k / 670k / 1.2M: for axes of parameter counts. */
export function formatCompact(value: number): string {
  const size = Math.abs(value);
  if (size >= 1e6) return `${Number((value / 1e6).toFixed(1))}M`;
  if (size >= 1e3) return `${Number((value / 1e3).toFixed(1))}k`;
  return formatNumber(value);
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

// The project's root folder, two above this file's.
const PROJECT_ROOT = new URL("../../", import.meta.url).pathname;

/**
 * A path as a reader should see it: relative to the project's root where it lies inside it
 * ("data/results/frontier"), so no machine's own folders end up in a notebook; doubled
 * slashes folded.
 */
export function shownPath(path: string): string {
  const clean = path.replace(/\/{2,}/g, "/");
  return clean.startsWith(PROJECT_ROOT) ? clean.slice(PROJECT_ROOT.length) || "." : clean;
}
