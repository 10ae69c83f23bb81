//! Pushing the self-hosted page to hosting that does not share the product's fate: the page's
//! directory is a git repository whose every rebuild is committed and pushed to a remote
//! (GitHub Pages, GitLab Pages, any git host). The `git` program does the work, so the
//! user's own credentials (SSH agent, credential helper) apply; it is never allowed to ask
//! for a password, and a push that hangs is stopped.
//!
//! The directory is Foghorn's: the branch is pushed with `--force`, so the remote shows
//! exactly what was built here, whatever was pushed there before.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

/// The longest one git command may take (a push over a slow network included).
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

async fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let run = cmd.output();
    match tokio::time::timeout(GIT_TIMEOUT, run).await {
        Err(_) => Err(format!(
            "git {} did not finish within {} s",
            args.first().unwrap_or(&""),
            GIT_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("git is not installed: install it to push the status page".to_owned())
        }
        Ok(Err(e)) => Err(format!("cannot run git: {e}")),
        Ok(Ok(out)) => Ok(out),
    }
}

async fn git_ok(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = git(dir, args).await?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let said = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "git {}: {}",
            args.first().unwrap_or(&""),
            redact_urls(said.trim())
        ))
    }
}

/// Git's messages quote the remote's URL, which may carry a token: each URL in `text` is
/// shown as its scheme, host and port only.
fn redact_urls(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let bare = word.trim_matches(|c| matches!(c, '\'' | '"' | ':' | ',' | '.'));
            if bare.contains("://") {
                word.replace(bare, &crate::secret::redact_url(bare))
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Commits what the directory holds now (if anything changed) and pushes it to `branch` of
/// `remote`. Returns the commit pushed.
pub async fn commit_and_push(
    dir: &Path,
    remote: &str,
    branch: &str,
    message: &str,
) -> Result<String, String> {
    if !dir.join(".git").exists() {
        git_ok(dir, &["init", "-q", "-b", branch]).await?;
    }
    git_ok(dir, &["add", "-A"]).await?;
    let unchanged = git(dir, &["diff", "--cached", "--quiet"])
        .await?
        .status
        .success();
    let has_head = git(dir, &["rev-parse", "-q", "--verify", "HEAD"])
        .await?
        .status
        .success();
    if !unchanged || !has_head {
        git_ok(
            dir,
            &[
                "-c",
                "user.name=Foghorn",
                "-c",
                "user.email=foghorn@localhost",
                "-c",
                "commit.gpgsign=false",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        )
        .await?;
    }
    let refspec = format!("HEAD:refs/heads/{branch}");
    git_ok(dir, &["push", "-q", "--force", remote, &refspec]).await?;
    Ok(git_ok(dir, &["rev-parse", "--short", "HEAD"])
        .await?
        .trim()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_sync(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {:?}", out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[tokio::test]
    async fn each_rebuild_is_committed_and_pushed_and_an_unchanged_one_pushes_nothing_new() {
        let remote = tempfile::tempdir().expect("dir");
        git_sync(remote.path(), &["init", "-q", "--bare"]);
        let page = tempfile::tempdir().expect("dir");
        let url = remote.path().display().to_string();
        std::fs::write(page.path().join("index.html"), "one").expect("write");
        let first = commit_and_push(page.path(), &url, "gh-pages", "Status update 1")
            .await
            .expect("pushed");
        std::fs::write(page.path().join("index.html"), "two").expect("write");
        let second = commit_and_push(page.path(), &url, "gh-pages", "Status update 2")
            .await
            .expect("pushed");
        let again = commit_and_push(page.path(), &url, "gh-pages", "Status update 2")
            .await
            .expect("pushed");
        assert_ne!(first, second);
        assert_eq!(second, again, "nothing changed, nothing committed");
        let log = git_sync(remote.path(), &["log", "--format=%s", "gh-pages"]);
        assert_eq!(
            log.lines().collect::<Vec<_>>(),
            ["Status update 2", "Status update 1"]
        );
        let shown = git_sync(remote.path(), &["show", "gh-pages:index.html"]);
        assert_eq!(shown, "two");
    }

    #[tokio::test]
    async fn a_remote_that_cannot_be_reached_is_an_error_naming_git_push_without_the_password() {
        let page = tempfile::tempdir().expect("dir");
        std::fs::write(page.path().join("index.html"), "x").expect("write");
        let err = commit_and_push(
            page.path(),
            "http://user:s3cret@127.0.0.1:1/status.git",
            "main",
            "Status update",
        )
        .await
        .expect_err("no server there");
        assert!(err.starts_with("git push:"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
