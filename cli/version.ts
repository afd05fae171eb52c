/** The version of this build of strake (`strake --version`, the API's /version). */
export const VERSION = '0.1.0';
