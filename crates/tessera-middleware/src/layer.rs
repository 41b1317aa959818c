//! The tower `Layer` and `Service`: verify, then call the inner service
//! with the [`UserGroup`] in the request extensions, or answer the error.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::RendererAuth;

/// Adds user-group token verification to a service.
#[derive(Clone)]
pub struct RendererAuthLayer {
    auth: RendererAuth,
}

impl RendererAuthLayer {
    /// A layer over `auth`.
    pub fn new(auth: RendererAuth) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for RendererAuthLayer {
    type Service = RendererAuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RendererAuthService {
            auth: self.auth.clone(),
            inner,
        }
    }
}

/// The service the layer builds.
#[derive(Clone)]
pub struct RendererAuthService<S> {
    auth: RendererAuth,
    inner: S,
}

impl<S> Service<Request<Body>> for RendererAuthService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            match auth.authenticate(request.headers()).await {
                Ok(group) => {
                    request.extensions_mut().insert(group);
                    inner.call(request).await
                }
                Err(err) => Ok(err.into_response()),
            }
        })
    }
}
