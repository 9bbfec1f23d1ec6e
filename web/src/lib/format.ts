export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

// One formatter each: toLocaleString() builds a new one per call, which a 2,000-message chat feels.
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const numbers = new Intl.NumberFormat();

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dates.format(date);
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : numbers.format(n);
}

export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n < 0.01 && n > 0 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}
