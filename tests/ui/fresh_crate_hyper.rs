// What a fresh crate depending only on `eddy` (features = ["hyper"]) writes:
// the attributes and the hyper glue, no adapter code of its own. trybuild
// builds it as its own crate and runs it.
use std::convert::Infallible;

use eddy::hyper::hyper::body::Incoming;
use eddy::hyper::hyper::service::service_fn;
use eddy::hyper::hyper::{Request, Response};
use eddy::hyper::HyperIo;

async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("Hello, world!".to_string()))
}

#[eddy::test]
async fn compiles_as_a_test_too() {
    eddy::sleep(std::time::Duration::from_secs(1)).await;
}

#[eddy::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = eddy::sync::oneshot::channel::<()>();
    let server = eddy::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eddy::hyper::serve(listener.incoming(), service_fn(hello), shutdown).await
    });
    let stream = eddy::net::TcpStream::connect(addr).await.unwrap();
    let (mut client, conn) = eddy::hyper::hyper::client::conn::http1::handshake(HyperIo::new(stream))
        .await
        .unwrap();
    let conn = eddy::spawn(conn);
    let req = Request::get("/").header("host", "localhost").body(String::new()).unwrap();
    let resp = client.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    drop(client);
    conn.await.unwrap().unwrap();
    stop.send(()).unwrap();
    assert_eq!(server.await.unwrap().unwrap().connections, 1);
}
