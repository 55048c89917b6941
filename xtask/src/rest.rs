//! A minimal Directus REST client: JSON in, status + JSON out, bearer token.

use std::time::Duration;

use serde_json::{Value, json};

use crate::Result;

pub struct Rest {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

/// A reply: HTTP status and the JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Directus puts error codes in `errors[0].extensions.code`.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    pub fn error_message(&self) -> String {
        self.body["errors"][0]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| self.body.to_string())
    }

    /// `data` of a successful reply, or an error naming `what` failed.
    pub fn data(self, what: &str) -> Result<Value> {
        if self.ok() {
            Ok(self.body["data"].clone())
        } else {
            Err(format!(
                "{what}: HTTP {} {} {}",
                self.status,
                self.error_code().unwrap_or(""),
                self.error_message()
            ))
        }
    }
}

impl Rest {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// Requests with this bearer token (one a socket got, say).
    pub fn with_token(base: &str, token: &str) -> Self {
        let mut rest = Self::new(base);
        rest.token = Some(token.to_owned());
        rest
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Log in with e-mail and password; later requests carry the access token.
    pub fn login(base: &str, email: &str, password: &str) -> Result<Self> {
        let mut rest = Self::new(base);
        let data = rest
            .post(
                "/auth/login",
                &json!({ "email": email, "password": password }),
            )?
            .data(&format!("log in to {base} as {email}"))?;
        rest.token = data["access_token"].as_str().map(str::to_owned);
        Ok(rest)
    }

    pub fn get(&self, path: &str) -> Result<Reply> {
        self.call("GET", path, None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Result<Reply> {
        self.call("POST", path, Some(body))
    }
    pub fn patch(&self, path: &str, body: &Value) -> Result<Reply> {
        self.call("PATCH", path, Some(body))
    }
    pub fn delete(&self, path: &str) -> Result<Reply> {
        self.call("DELETE", path, None)
    }

    /// `POST /files` as multipart: the form `fields` first (Directus reads them before the
    /// file), then the file.
    pub fn upload(
        &self,
        fields: &[(&str, &str)],
        file_name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<Reply> {
        let boundary = format!("directus-chat-{}", crate::server::random_token(12));
        let mut body = Vec::with_capacity(bytes.len() + 1024);
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!("{}/files", self.base);
        let mut request = ureq::http::Request::builder()
            .method("POST")
            .uri(&url)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            );
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let request = request.body(body).map_err(|e| e.to_string())?;
        self.reply("POST", &url, self.agent.run(request))
    }

    /// The raw bytes of a GET (an asset): status, Content-Type and body.
    pub fn get_bytes(&self, path: &str) -> Result<(u16, String, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method("GET").uri(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = self
            .agent
            .run(request.body(()).map_err(|e| e.to_string())?)
            .map_err(|e| format!("GET {url}: {e}"))?;
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("GET {url}: {e}"))?;
        Ok((response.status().as_u16(), kind, body))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .map_err(|e| e.to_string())?,
            ),
            None => self.agent.run(request.body(()).map_err(|e| e.to_string())?),
        };
        self.reply(method, &url, response)
    }

    fn reply(
        &self,
        method: &str,
        url: &str,
        response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply> {
        let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }
}

/// Percent-encode a query value (filters contain brackets, `$` and e-mail addresses).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
