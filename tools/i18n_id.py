"""Bahasa Indonesia translations of the catalogue's msgids (English source strings).

``python tools/i18n_id.py`` re-extracts the msgids (pybabel) and rewrites
kiosk/translations/{id,en}/LC_MESSAGES/messages.po; a test fails when a msgid has no
Indonesian translation here, so no user-facing string escapes the catalogue.
"""

from __future__ import annotations

ID: dict[str, str] = {
    "The device is not ready. Please ask staff for help.": "Perangkat belum siap. Silakan minta bantuan petugas.",
    "The card could not be read. Please tap it again.": "Kartu tidak terbaca, silakan tempel ulang.",
    "The card reader is not working. Please type your NIK instead.":
        "Pembaca kartu sedang tidak berfungsi. Silakan ketik NIK Anda.",
    "The document was not printed. Your PIN is still valid.": "Dokumen belum tercetak. PIN Anda tetap berlaku.",
    "The receipt could not be printed. Your documents are not affected.":
        "Struk tidak dapat dicetak. Dokumen Anda tidak terpengaruh.",
    "The PIN is wrong.": "PIN salah.",
    "There are no documents ready to print for this NIK.": "Tidak ada dokumen yang siap dicetak untuk NIK ini.",
    "This PIN has expired. Please ask for a new one.": "PIN ini sudah kedaluwarsa. Silakan minta PIN baru.",
    "This kiosk cannot reach the Dukcapil server. Please ask staff for help.":
        "Anjungan ini tidak dapat terhubung ke server Dukcapil. Silakan minta bantuan petugas.",
    "The Dukcapil server is not available right now. Your PIN is still valid. Please try again later.":
        "Server Dukcapil sedang tidak tersedia. PIN Anda tetap berlaku. Silakan coba lagi nanti.",
    "A NIK has exactly 16 digits.": "NIK terdiri dari tepat 16 angka.",
    "A NIK contains digits only.": "NIK hanya berisi angka.",
    "The region code in this NIK does not exist.": "Kode wilayah pada NIK ini tidak dikenal.",
    "The birth date in this NIK is not valid.": "Tanggal lahir pada NIK ini tidak sah.",
    "The serial number in this NIK is not valid.": "Nomor urut pada NIK ini tidak sah.",
    "KTP Elektronik": "KTP Elektronik",
    "Kartu Identitas Anak": "Kartu Identitas Anak",
    "Kartu Keluarga": "Kartu Keluarga",
    "Akta Kelahiran": "Akta Kelahiran",
    "Akta Kematian": "Akta Kematian",
    "Surat Pindah": "Surat Pindah",
    "Please choose at least one document.": "Silakan pilih paling sedikit satu dokumen.",
    "The document data is incomplete. Your PIN is still valid.": "Data dokumen tidak lengkap. PIN Anda tetap berlaku.",
    "This kiosk cannot print this kind of document.": "Anjungan ini tidak dapat mencetak jenis dokumen ini.",
    "The printer is not ready. Your PIN is still valid.": "Printer belum siap. PIN Anda tetap berlaku.",
    "This kiosk has run out of blank cards. Your PIN is still valid.":
        "Blangko kartu di anjungan ini habis. PIN Anda tetap berlaku.",
    "The card printer needs a new ribbon. Your PIN is still valid.":
        "Printer kartu perlu pita (ribbon) baru. PIN Anda tetap berlaku.",
    "The card printer has reached its daily limit and must cool down. Your PIN is still valid; please come back tomorrow.":
        "Printer kartu telah mencapai batas harian dan perlu didinginkan. PIN Anda tetap berlaku; silakan kembali besok.",
    "The document printer is out of paper. Your PIN is still valid.": "Kertas printer dokumen habis. PIN Anda tetap berlaku.",
    "This kiosk is temporarily out of service.": "Anjungan ini sementara tidak dapat digunakan.",
    "Too many wrong PINs. Please wait before trying again.": "Terlalu banyak PIN salah. Silakan tunggu sebelum mencoba lagi.",
    "The PIN has 6 digits.": "PIN terdiri dari 6 angka.",
    "Your session has ended. Please start again.": "Sesi Anda telah berakhir. Silakan mulai lagi.",
    "Please start again.": "Silakan mulai lagi.",
    "ANJUNGAN DUKCAPIL MANDIRI": "ANJUNGAN DUKCAPIL MANDIRI",
    "NIK": "NIK",
    "Reference": "Nomor referensi",
    "Printed:": "Tercetak:",
    "Not printed:": "Belum tercetak:",
    "Your PIN is still valid for the documents not printed.": "PIN Anda tetap berlaku untuk dokumen yang belum tercetak.",
    "Keep this receipt. Show the reference to staff if you need help.":
        "Simpan struk ini. Tunjukkan nomor referensi kepada petugas jika perlu bantuan.",
    "The PIN is wrong. %(n)s tries left.": "PIN salah. Sisa percobaan: %(n)s.",
    "Waiting": "Menunggu",
    "Printing...": "Sedang dicetak...",
    "Done": "Selesai",
    "Not printed": "Belum tercetak",
    "Something went wrong. Please start again.": "Terjadi kesalahan. Silakan mulai lagi.",
    "Anjungan Dukcapil Mandiri": "Anjungan Dukcapil Mandiri",
    "Need help?": "Butuh bantuan?",
    "Are you still there?": "Masih di sana?",
    "This screen will close in": "Layar ini akan ditutup dalam",
    "seconds.": "detik.",
    "Yes, continue": "Ya, lanjutkan",
    "Number keypad": "Papan angka",
    "Clear all": "Hapus semua",
    "Clear": "Hapus",
    "Delete one digit": "Hapus satu angka",
    "Your documents are ready": "Dokumen Anda siap dicetak",
    "All documents are selected. Touch a document to leave it out.":
        "Semua dokumen sudah dipilih. Sentuh dokumen untuk tidak mencetaknya.",
    "%(num)s page": ("%(num)s halaman", "%(num)s halaman"),
    "Cancel": "Batal",
    "Print": "Cetak",
    "Card": "Kartu",
    "A4 paper": "Kertas A4",
    "Some documents were not printed": "Sebagian dokumen belum tercetak",
    "Please ask staff at the Disdukcapil office, or try again at another ADM. Show them your receipt.":
        "Silakan hubungi petugas di kantor Disdukcapil, atau coba lagi di ADM lain. Tunjukkan struk Anda.",
    "Finished. Thank you!": "Selesai. Terima kasih!",
    "Take your documents and your receipt.": "Ambil dokumen dan struk Anda.",
    "The receipt could not be printed. Please note the reference above.":
        "Struk tidak dapat dicetak. Silakan catat nomor referensi di atas.",
    "Finish": "Selesai",
    "Back to start": "Kembali ke awal",
    "Start by tapping your e-KTP, typing your NIK, or showing the QR code from WhatsApp.":
        "Mulai dengan menempelkan e-KTP, mengetik NIK, atau menunjukkan kode QR dari WhatsApp.",
    "Enter the 6-digit PIN from the WhatsApp message.": "Masukkan PIN 6 angka dari pesan WhatsApp.",
    "Choose your documents and touch Print.": "Pilih dokumen Anda lalu sentuh Cetak.",
    "Show this code to staff:": "Tunjukkan kode ini kepada petugas:",
    "Phone": "Telepon",
    "Back": "Kembali",
    "Too many wrong PINs": "Terlalu banyak PIN salah",
    "For your safety, this NIK is locked for %(m)s minutes. Please try again later, or ask staff for help.":
        "Demi keamanan Anda, NIK ini dikunci selama %(m)s menit. Silakan coba lagi nanti, atau minta bantuan petugas.",
    "Type your NIK": "Ketik NIK",
    "The 16-digit number on your KTP or Kartu Keluarga.": "Nomor 16 angka pada KTP atau Kartu Keluarga Anda.",
    "Next": "Lanjut",
    "Sorry": "Mohon maaf",
    "Your PIN is still valid. Please try again later or ask staff for help.":
        "PIN Anda tetap berlaku. Silakan coba lagi nanti atau minta bantuan petugas.",
    "Enter your PIN": "Masukkan PIN",
    "The 6-digit PIN from the WhatsApp message.": "PIN 6 angka dari pesan WhatsApp.",
    "Never share your PIN with anyone, including staff.": "Jangan berikan PIN Anda kepada siapa pun, termasuk petugas.",
    "Printing your documents": "Dokumen Anda sedang dicetak",
    "Please wait. Do not leave before your receipt is printed.": "Mohon tunggu. Jangan pergi sebelum struk tercetak.",
    "Welcome": "Selamat datang",
    "Print your population documents with the PIN we sent you by WhatsApp.":
        "Cetak dokumen kependudukan Anda dengan PIN yang kami kirim lewat WhatsApp.",
    "How do you want to start?": "Bagaimana Anda ingin memulai?",
    "Tap your e-KTP": "Tempel e-KTP",
    "Place your e-KTP on the reader below the screen.": "Letakkan e-KTP Anda di pembaca kartu di bawah layar.",
    "Show the QR code": "Tunjukkan kode QR",
    "From the WhatsApp message, to the camera.": "Dari pesan WhatsApp, ke arah kamera.",
}


def main() -> int:
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po, write_po

    root = Path(__file__).resolve().parent.parent
    pot = root / "var" / "messages.pot"
    pot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(root / "babel.cfg"),
                    "-k", "N_", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--no-location",
                    "-o", str(pot), str(root)], check=True, capture_output=True)
    with pot.open("rb") as fh:
        template = read_po(fh)
    missing = []
    for lang in ("id", "en"):
        template.locale = lang  # type: ignore[assignment]
        for msg in template:
            if not msg.id:
                continue
            key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
            if lang == "id":
                if key not in ID:
                    missing.append(key)
                    continue
                msg.string = ID[key]
            else:
                msg.string = ("", "") if isinstance(msg.id, tuple) else ""
        out = root / "kiosk" / "translations" / lang / "LC_MESSAGES" / "messages.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            write_po(fh, template, omit_header=False, sort_output=True, width=120)
    for m in missing:
        print(f"untranslated: {m!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
