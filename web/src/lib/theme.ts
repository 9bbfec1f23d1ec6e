export type Theme = "light" | "dark";

export function initialTheme(): Theme {
  const saved = localStorage.getItem("chasm.theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("chasm.theme", theme);
}
