/**
 * A file the user gives a panel: picked in its file box or dropped anywhere on the panel. Read in
 * the page by `load`; nothing is sent anywhere.
 */
export function onFileGiven(panel: HTMLElement, box: HTMLInputElement, load: (file: File) => void): void {
  box.addEventListener("change", () => {
    const f = box.files?.[0];
    if (f) load(f);
  });
  panel.addEventListener("dragover", (e) => e.preventDefault());
  panel.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) load(f);
  });
}
