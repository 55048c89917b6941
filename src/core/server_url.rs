//! The server address a user types: http(s) or ws(s), with or without a base path or the
//! `/websocket` suffix. Both URLs the client needs are derived from it.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    /// e.g. `https://chat.example.com/directus` (no trailing slash): for REST.
    pub http: String,
    /// e.g. `wss://chat.example.com/directus/websocket`.
    pub websocket: String,
}

impl ServerUrl {
    pub fn parse(input: &str) -> Result<ServerUrl, String> {
        let input = input.trim();
        if input.is_empty() {
            return Err("Enter the server's address, e.g. http://127.0.0.1:8055".into());
        }
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), input),
        };
        let secure = match scheme.as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            other => {
                return Err(format!(
                    "\"{other}://\" is not a server address: use http://, https://, ws:// or wss://"
                ));
            }
        };
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                if port.is_empty() || port.parse::<u16>().is_err() {
                    return Err(format!("\"{port}\" is not a port number in {input:?}"));
                }
                host
            }
            _ => authority,
        };
        let valid_host = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c));
        if !valid_host {
            return Err(format!("{input:?} has no valid host name"));
        }
        let path = path.trim_end_matches('/');
        // The Admin URL (`…/admin`, or a page of the admin app under it), which Directus
        // prints at start and a browser shows: the server is where the admin app sits.
        let segments: Vec<&str> = path.split('/').collect();
        let kept = match segments.iter().rposition(|segment| *segment == "admin") {
            Some(at) => segments[..at].join("/"),
            None => path.to_owned(),
        };
        let path = kept.as_str();
        let path = path.trim_end_matches('/');
        let path = path
            .strip_suffix("websocket")
            .unwrap_or(path)
            .trim_end_matches('/');
        let base = if path.is_empty() {
            String::new()
        } else {
            format!("/{path}")
        };
        let (http, ws) = if secure {
            ("https", "wss")
        } else {
            ("http", "ws")
        };
        Ok(ServerUrl {
            http: format!("{http}://{authority}{base}"),
            websocket: format!("{ws}://{authority}{base}/websocket"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(input: &str) -> (String, String) {
        let url = ServerUrl::parse(input).unwrap();
        (url.http, url.websocket)
    }

    #[test]
    fn derives_websocket_from_http_and_back() {
        let local = (
            "http://127.0.0.1:8055".to_owned(),
            "ws://127.0.0.1:8055/websocket".to_owned(),
        );
        assert_eq!(both("http://127.0.0.1:8055"), local);
        assert_eq!(both("http://127.0.0.1:8055/"), local);
        assert_eq!(both("ws://127.0.0.1:8055/websocket"), local);
        assert_eq!(both("127.0.0.1:8055"), local);
        assert_eq!(
            both("https://chat.example.com/directus/"),
            (
                "https://chat.example.com/directus".into(),
                "wss://chat.example.com/directus/websocket".into()
            )
        );
        assert_eq!(both("WSS://x.org/websocket").1, "wss://x.org/websocket");
        // The Admin URL, or a page of the admin app, means the server it belongs to.
        assert_eq!(both("http://127.0.0.1:8055/admin"), local);
        assert_eq!(both("http://127.0.0.1:8055/admin/"), local);
        assert_eq!(both("127.0.0.1:8055/admin/content/messages?x=1"), local);
        assert_eq!(
            both("https://chat.example.com/directus/admin/login").0,
            "https://chat.example.com/directus"
        );
        // A Directus installed under a path named "admin" keeps it.
        assert_eq!(
            both("https://x.org/admin/chat/admin").0,
            "https://x.org/admin/chat"
        );
    }

    #[test]
    fn rejects_what_is_not_a_server() {
        for bad in [
            "",
            "   ",
            "ftp://x.org",
            "http://",
            "http://host:99999",
            "http://ho st",
            "http://:80",
        ] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
