//! A third-party `futures-io` crate on eddy with no glue: a websocket echo
//! server and client with `async-tungstenite`, on both flavours.

use async_tungstenite::tungstenite::Message;
use eddy::net::{TcpListener, TcpStream};
use eddy::{Builder, Runtime};
use futures_lite::StreamExt;

fn both_flavours() -> [Runtime; 2] {
    [
        Builder::current_thread().build().unwrap(),
        Builder::multi_thread().worker_threads(2).build().unwrap(),
    ]
}

#[test]
fn websocket_echo_over_eddy_tcp() {
    for rt in both_flavours() {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = eddy::spawn(async move {
                let mut served = 0;
                for _ in 0..3 {
                    let (stream, _) = listener.accept().await.unwrap();
                    served += 1;
                    eddy::spawn(async move {
                        let mut ws = async_tungstenite::accept_async(stream).await.unwrap();
                        while let Some(msg) = ws.next().await {
                            match msg.unwrap() {
                                m @ (Message::Text(_) | Message::Binary(_)) => {
                                    ws.send(m).await.unwrap()
                                }
                                Message::Close(_) => break,
                                _ => {}
                            }
                        }
                    })
                    .detach();
                }
                served
            });
            let clients = (0..3).map(|i| {
                eddy::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let url = format!("ws://{addr}/echo");
                    let (mut ws, resp) =
                        async_tungstenite::client_async(url, stream).await.unwrap();
                    assert_eq!(resp.status(), 101);
                    for n in 0..5 {
                        let text = format!("client {i} message {n}");
                        ws.send(Message::text(text.clone())).await.unwrap();
                        let back = ws.next().await.unwrap().unwrap();
                        assert_eq!(back.into_text().unwrap().as_str(), text);
                    }
                    ws.send(Message::binary(vec![i as u8; 70_000]))
                        .await
                        .unwrap();
                    let back = ws.next().await.unwrap().unwrap();
                    assert_eq!(back.into_data().len(), 70_000);
                    ws.close(None).await.unwrap();
                })
            });
            for c in eddy::gather_all(clients).await {
                c.unwrap();
            }
            assert_eq!(server.await.unwrap(), 3);
        });
    }
}
