//! Installers rendered from a typed context: shell, PowerShell, npm package, Homebrew formula.
