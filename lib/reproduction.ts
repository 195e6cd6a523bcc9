/** Where the article's full reproduction is stored (committed to the repository). */
export const REPRODUCTION_DIR = new URL("../data/reproduction/", import.meta.url).pathname;
